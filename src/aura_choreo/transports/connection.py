"""One live network connection: a handshake `Connection` state machine driven over a carrier's `Pipe`.

`Conn` takes the peer's bytes (pushed by the carrier in the turn they arrive where it can, else from a
read loop), feeds their frames to the state machine, writes what it answers at once, and watches the
handshake deadline and keep-alive. What the state machine's events mean for sessions (delivery,
readiness, refusals) is its owner's business, `ConnOwner`, which is
`transports.carrier.NetworkTransport`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Protocol

from aura_choreo.transports.net.framing import FrameDecoder, FrameKind, FramingError, encode_frame
from aura_choreo.transports.net.handshake import (
    Authenticated,
    Connection,
    ConnectionRefused,
    DataReceived,
    Event,
    SessionOpened,
    SessionRefused,
)
from aura_choreo.transports.net.timing import KeepAlive, Liveness
from aura_choreo.transports.pipes import Pipe

log = logging.getLogger("aura_choreo.tcp")
_DATA = FrameKind.DATA


class ConnOwner(Protocol):
    """What a connection needs from the transport that owns it: its limits and event callbacks."""

    device: str
    max_frame: int
    keepalive_interval: float
    idle_timeout: float
    handshake_timeout: float

    def _refused(self, peer: str, message: str) -> None: ...

    def _deliver(self, conn: Conn, payload: bytes) -> None: ...

    def _authenticated(self, conn: Conn) -> None: ...

    def _session_opened(self, conn: Conn, session: str) -> None: ...

    def _session_refused(self, conn: Conn, event: SessionRefused) -> None: ...

    def _connection_refused(self, conn: Conn, event: ConnectionRefused) -> None: ...


class Conn:
    """One live connection: a `Connection` state machine driven over a carrier's `Pipe`."""

    def __init__(self, transport: ConnOwner, pipe: Pipe, state: Connection) -> None:
        self.transport = transport
        self.pipe = pipe
        self.state = state
        self.decoder = FrameDecoder(transport.max_frame)
        now = asyncio.get_running_loop().time()
        self.keepalive = KeepAlive(transport.keepalive_interval, transport.idle_timeout, now, now)
        self.started = now
        self.authenticated = False
        # Whether bytes came in / went out since the watchdog last looked: it stamps them on the clock
        # when it wakes (a flag per chunk is cheaper than reading the clock per chunk; see `_watchdog`).
        self._heard = False
        self.wrote = False
        """Set by whoever writes to `pipe` (`write`, the transport's data path), cleared by the watchdog."""
        self.peer_address: str | None = None
        """The peer's address as the session layer knows it (set by the owner at the first data frame)."""
        self.reason = ""
        self._loop = asyncio.get_running_loop()
        self._ended: asyncio.Future[None] = self._loop.create_future()

    @property
    def peer(self) -> str:
        return self.state.peer_device or self.state.expected_device or "?"

    def write(self, data: bytes) -> None:
        """Send `data` now (a closing pipe drops it). Frames are small and acknowledgements ride on
        replies, so there is nothing to batch: deferring each write to the next turn of the event loop
        (to join it with what else that turn writes) cost a turn per message and saved no system call."""
        self.pipe.write(data)
        self.wrote = True

    def flush(self) -> None:
        if self.state.has_output:
            self.write(self.state.data_to_send())

    def abort(self, reason: str) -> None:
        """Close at once, dropping unsent bytes (faults, refusals of strangers, dead peers)."""
        if not self.reason:
            self.reason = reason
        self.state.closed = True
        self.pipe.abort()

    def close(self, reason: str) -> None:
        """Close after the bytes already written are sent (the last acknowledgements, a REFUSE)."""
        if not self.reason:
            self.reason = reason
        self.state.closed = True
        if not self.pipe.is_closing():
            self.pipe.close()

    async def serve(self) -> None:
        """Run until the connection ends; never raises (except cancellation)."""
        async with asyncio.TaskGroup() as group:
            watchdog = group.create_task(self._watchdog())
            try:
                self._handle(self.state.start())
                self.flush()
                if self.pipe.push_to(self):
                    await self._ended
                else:
                    await self._read_loop()
            except asyncio.CancelledError:  # the transport is closing: nobody waits for a polite close
                self.abort("cancelled")
                raise
            except (OSError, ssl.SSLError, EOFError) as exc:
                self.abort(f"connection error: {exc}")
            except Exception as exc:  # a carrier's own error: this connection ends, nothing else
                log.warning("%s: connection to %s failed: %r", self.transport.device, self.peer, exc)
                self.abort(f"connection error: {exc!r}")
            finally:
                watchdog.cancel()
                # Closing flushes what is queued (a REFUSE, the last acknowledgements); a peer that
                # does not read it is cut off a second later.
                self.close(self.reason or "closed")
                self._loop.call_later(1.0, self.pipe.abort)

    async def _read_loop(self) -> None:
        while not self.state.closed:
            if not self._feed(await self.pipe.read()):
                return

    def on_data(self, data: bytes) -> None:
        """Bytes pushed by the pipe (`Pipe.push_to`): handled in the turn they arrive."""
        if self._ended.done():
            return
        state = self.state
        try:
            # `state.is_open` read without a call; then the common chunk, one whole data frame, gets
            # what `_feed` does for it without its loop.
            body = self.decoder.one_data(data) if state.open_sessions and not state.closed else None
            if body is not None:
                self._heard = True
                self.transport._deliver(self, body)
                going_on = True
            else:
                going_on = self._feed(data)
        except Exception as exc:  # as in `serve`: this connection ends, nothing else
            log.warning("%s: connection to %s failed: %r", self.transport.device, self.peer, exc)
            self.abort(f"connection error: {exc!r}")
            going_on = False
        if not going_on or self.state.closed:
            self._ended.set_result(None)

    def on_end(self, error: Exception | None) -> None:
        """The pipe's end (`Pipe.push_to`): the peer closed, or the connection failed."""
        if self._ended.done():
            return
        if error is None:
            self._feed(b"")
        else:
            self.abort(f"connection error: {error}")
        self._ended.set_result(None)

    def _feed(self, data: bytes) -> bool:
        """Handle bytes from the peer (b"": it closed); False when the connection is to end."""
        if not data:
            pending = self.decoder.buffered
            self.reason = self.reason or (
                f"peer closed mid-frame ({pending} bytes)" if pending else "peer closed"
            )
            return False
        self._heard = True
        try:
            frames = self.decoder.feed(data)
        except FramingError as exc:
            self.transport._refused(self.peer, f"framing error: {exc}")
            self.reason = f"framing error: {exc}"
            return False
        state = self.state
        answered = False
        for kind, body in frames:
            if kind is _DATA and state.is_open:
                # What `Connection.receive` answers for a data frame on an open connection (one
                # `DataReceived`, nothing to send back), without building the event per message.
                self.transport._deliver(self, body)
                continue
            answered = True
            self._handle(state.receive(kind, body))
            if state.closed:
                break
        if answered:
            self.flush()
        return True

    async def _watchdog(self) -> None:
        loop = asyncio.get_running_loop()
        keepalive = self.keepalive
        while True:
            now = loop.time()
            # Traffic since the last wake-up is stamped now, up to one check (at most
            # `keepalive_interval`) late: a silent peer is judged dead at most that long after
            # `idle_timeout`, never before, and a ping goes out at most 2 x `keepalive_interval` after
            # our last frame (the defaults leave the peer's `idle_timeout` 2.5 times that).
            if self._heard:
                self._heard = False
                keepalive.received(now)
            if self.wrote:
                self.wrote = False
                keepalive.sent(now)
            if not self.authenticated and now - self.started >= self.transport.handshake_timeout:
                self.transport._refused(self.peer, "handshake not finished in time (slowloris?)")
                self.abort("handshake timeout")
                return
            verdict = keepalive.poll(now)
            if verdict is Liveness.DEAD:
                self.abort(f"peer silent for {self.transport.idle_timeout}s")
                return
            if verdict is Liveness.PING:
                self.write(encode_frame(FrameKind.PING, b""))
                keepalive.sent(now)
            delay = keepalive.next_check(loop.time())
            if not self.authenticated:
                delay = min(delay, max(self.started + self.transport.handshake_timeout - now, 0.0))
            await asyncio.sleep(max(delay, 0.01))

    def _handle(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, DataReceived):
                self.transport._deliver(self, event.payload)
            elif isinstance(event, Authenticated):
                self.authenticated = True
                self.transport._authenticated(self)
            elif isinstance(event, SessionOpened):
                self.transport._session_opened(self, event.session)
            elif isinstance(event, SessionRefused):
                self.transport._session_refused(self, event)
            elif isinstance(event, ConnectionRefused):
                self.transport._connection_refused(self, event)
