"""One live network connection: a handshake `Connection` state machine driven over a carrier's `Pipe`.

`Conn` reads frames and feeds them to the state machine, writes what it answers (batched per turn of
the event loop), and watches the handshake deadline and keep-alive. What the state machine's events
mean for sessions (delivery, readiness, refusals) is its owner's business, `ConnOwner`, which is
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
        self.reason = ""
        self._pending: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    @property
    def peer(self) -> str:
        return self.state.peer_device or self.state.expected_device or "?"

    def write(self, data: bytes) -> None:
        """Queue `data`; everything queued in one turn of the event loop goes out as one write (one
        TLS record, one system call): a reply and the acknowledgement beside it travel together."""
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._write_pending)
        self._pending.append(data)

    def _write_pending(self) -> None:
        pending, self._pending = self._pending, []
        if pending and not self.pipe.is_closing():
            self.pipe.write(b"".join(pending) if len(pending) > 1 else pending[0])
            self.keepalive.sent(self._loop.time())

    def flush(self) -> None:
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
        self._write_pending()
        if not self.pipe.is_closing():
            self.pipe.close()

    async def serve(self) -> None:
        """Run until the connection ends; never raises (except cancellation)."""
        async with asyncio.TaskGroup() as group:
            watchdog = group.create_task(self._watchdog())
            try:
                self._handle(self.state.start())
                self.flush()
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
        loop = asyncio.get_running_loop()
        while not self.state.closed:
            data = await self.pipe.read()
            if not data:
                pending = self.decoder.buffered
                self.reason = self.reason or (
                    f"peer closed mid-frame ({pending} bytes)" if pending else "peer closed"
                )
                return
            self.keepalive.received(loop.time())
            try:
                frames = self.decoder.feed(data)
            except FramingError as exc:
                self.transport._refused(self.peer, f"framing error: {exc}")
                self.reason = f"framing error: {exc}"
                return
            for kind, body in frames:
                self._handle(self.state.receive(kind, body))
                if self.state.closed:
                    break
            self.flush()

    async def _watchdog(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if not self.authenticated and now - self.started >= self.transport.handshake_timeout:
                self.transport._refused(self.peer, "handshake not finished in time (slowloris?)")
                self.abort("handshake timeout")
                return
            verdict = self.keepalive.poll(now)
            if verdict is Liveness.DEAD:
                self.abort(f"peer silent for {self.transport.idle_timeout}s")
                return
            if verdict is Liveness.PING:
                self.write(encode_frame(FrameKind.PING, b""))
            delay = self.keepalive.next_check(loop.time())
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
