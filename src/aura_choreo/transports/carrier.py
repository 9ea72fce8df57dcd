"""The network carriers' shared shell: connections, dialing, sessions, queues (SPEC §5.6).

Everything that decides anything lives in `transports.net` (framing, the handshake state machine,
keep-alive and backoff). A carrier (`tcp.py`, `ws.py`) only opens byte pipes: it listens and dials,
with TLS 1.3 both ways. This module moves bytes between those pipes and the state machines:

- TLS 1.3, mutual: each side presents a certificate derived from its device key and, before reading a
  single frame, pins the peer's leaf key against the policy (`net.identity` explains why the
  certificates are issued by a public anchor and why that is sound). Then the HELLO/JOIN/ACCEPT
  handshake of `net.handshake`; a session's frames flow only once the listener has accepted it, and
  only for sessions the peer joined and roles its device plays there (`frame_origin`).
- One connection per pair of devices, shared by every session between them: the device with the
  smaller name dials (a device with no listen address always dials), the other listens. The dialer
  reconnects with backoff whenever the connection drops and re-joins its sessions; frames sent while
  no connection is open wait in a bounded queue, and the session layer (`Node`, which sees this
  transport as unreliable) retransmits whatever a dropped connection lost and removes duplicates.
  Each connection's carrier is the scheme of the address dialed, so one session may mix carriers.
- Untrusted input: TLS handshakes and the HELLO must finish within `handshake_timeout` (slowloris),
  at most `max_handshaking` connections may be unauthenticated at once (floods), garbage and
  oversized frames close that connection with a logged reason. Nothing raises out of the transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import ssl
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aura_choreo.errors import HandshakeRefused, PeerTimeout, TransportError
from aura_choreo.transports.base import DEFAULT_MAX_FRAME, Address, FrameHandler, Link, Transport
from aura_choreo.transports.net.framing import FrameDecoder, FrameKind, FramingError, encode_frame
from aura_choreo.transports.net.handshake import (
    RETRYABLE,
    Authenticated,
    Connection,
    ConnectionRefused,
    DataReceived,
    Event,
    SessionBinding,
    SessionOpened,
    SessionRefused,
)
from aura_choreo.transports.net.identity import Identity, certificate_public_key
from aura_choreo.transports.net.timing import Backoff, KeepAlive, Liveness
from aura_choreo.transports.pipes import Carrier, Listener, Pipe, parse_address
from aura_choreo.transports.tls import tls_context

log = logging.getLogger("aura_choreo.tcp")

StatusCallback = Callable[[str], None]
FrameOrigin = Callable[[bytes], tuple[str, str] | None]
"""(session id, sender role) of a session-layer frame, or None if it has none (garbage)."""
_MAX_QUEUED = 10_000
_HIGH_WATER = 1 << 20


@dataclass(frozen=True)
class PeerDevice:
    """A device this process may talk to: its pinned key and, if it listens, its address."""

    device: str
    public_key: bytes
    address: str | None = None


_CARRIERS = {"tcp": "aura_choreo.transports.tcp", "ws": "aura_choreo.transports.ws"}
_EXTRAS = {"ws": "websocket"}


def carrier_for(address: str) -> Carrier:
    """The carrier of `address`'s scheme; `TransportError` names the extra to install if missing."""
    scheme = address.partition("://")[0]
    module_name = _CARRIERS.get(scheme)
    if module_name is None:
        raise TransportError(f"`{address}`: no carrier for `{scheme}://` (available: tcp://, ws://)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = _EXTRAS.get(scheme, scheme)
        raise TransportError(
            f"`{scheme}://` needs an optional dependency ({exc.name}): pip install 'aura-choreo[{extra}]'"
        ) from None
    carrier: Carrier = module.CARRIER
    return carrier


class _Conn:
    """One live connection: a `Connection` state machine driven over a carrier's `Pipe`."""

    def __init__(self, transport: NetworkTransport, pipe: Pipe, state: Connection) -> None:
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


class _NetLink(Link):
    def __init__(self, transport: NetworkTransport, address: Address) -> None:
        self._transport = transport
        self._address = address
        self._closed = False

    @property
    def address(self) -> Address:
        return self._address

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, to: Address, frame: bytes) -> None:
        if self._closed:
            raise TransportError(f"link {self._address!r} is closed")
        await self._transport._send(to, frame)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._transport._handler = None


class NetworkTransport(Transport):
    """This device's network presence: a listener (if `listen`) and one connection per peer device.

    Use `async with NetworkTransport(...) as transport:`, then `await transport.open_session(binding)` to
    connect and authenticate every peer of a session before running its roles over a `Node`
    attached at `transport.local_address`.
    """

    reliable = False

    def __init__(
        self,
        identity: Identity,
        peers: Mapping[str, PeerDevice],
        *,
        listen: str | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
        keepalive_interval: float = 2.0,
        idle_timeout: float = 10.0,
        handshake_timeout: float = 5.0,
        max_handshaking: int = 64,
        on_status: StatusCallback | None = None,
        drop_after_frames: int | None = None,
        frame_origin: FrameOrigin | None = None,
    ) -> None:
        self.identity = identity
        self.device = identity.device
        self.peers = dict(peers)
        self.listen = listen
        self.max_frame = max_frame
        self.keepalive_interval = keepalive_interval
        self.idle_timeout = idle_timeout
        self.handshake_timeout = handshake_timeout
        self.max_handshaking = max_handshaking
        self.on_status = on_status
        self.drop_after_frames = drop_after_frames
        """Test hook: abort the connection after this many data frames (once) to test reconnection."""
        self.frame_origin = frame_origin
        """Reads (session, sender role) from a data frame, so a peer's frames are delivered only for
        sessions it joined and roles its device plays there (None: the frame is not checked)."""
        self.forged = 0
        """Data frames dropped because the peer may not send them (see `frame_origin`)."""
        self.directory = {d: p.public_key for d, p in self.peers.items()}
        self.directory[self.device] = identity.public_bytes
        self.refusals: list[str] = []
        """Every refusal, with its reason, in order (also logged)."""
        self.connections_made = 0
        self._handler: FrameHandler | None = None
        self._conns: dict[str, _Conn] = {}
        self._bindings: dict[str, SessionBinding] = {}
        self._failures: dict[tuple[str, str], HandshakeRefused] = {}
        self._queued: dict[str, deque[bytes]] = {}
        self._dialing: dict[str, asyncio.Task[None]] = {}
        self._last_error: dict[str, str] = {}
        self._handshaking = 0
        self._serving: set[_Conn] = set()
        self._ready: set[tuple[str, str]] = set()
        self._addresses: dict[Address, str] = {}
        self._changed = asyncio.Event()
        self._server: Listener | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._data_frames = 0
        self._client_ssl = tls_context(identity, server=False)
        self._server_ssl = tls_context(identity, server=True) if listen else None

    # ------------------------------------------------------------------ addresses

    @property
    def local_address(self) -> Address:
        """Where this device is reachable (its listen address, or `device:NAME` if it only dials)."""
        return self.listen or f"device:{self.device}"

    def address_of(self, device: str) -> Address:
        if device == self.device:
            return self.local_address
        peer = self.peers.get(device)
        return peer.address if peer is not None and peer.address else f"device:{device}"

    def _device_at(self, address: Address) -> str | None:
        found = self._addresses.get(address)
        if found is None:
            self._addresses = {self.address_of(d): d for d in (*self.peers, self.device)}
            found = self._addresses.get(address)
        return found

    def _dials(self, device: str) -> bool:
        peer = self.peers.get(device)
        return peer is not None and bool(peer.address) and (self.listen is None or self.device < device)

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> NetworkTransport:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start listening (if `listen`); raises `TransportError` if the address cannot be bound."""
        if self.listen is None or self._server is not None:
            return
        _, host, port = parse_address(self.listen)
        carrier = carrier_for(self.listen)
        assert self._server_ssl is not None
        try:
            self._server = await carrier.listen(
                host, port, self._accept, self._server_ssl, self.handshake_timeout
            )
        except OSError as exc:
            raise TransportError(f"cannot listen on {self.listen}: {exc.strerror or exc}") from None
        self._status(f"listening on {self.listen} as {self.device}")

    async def aclose(self) -> None:
        self._closing = True
        if self._server is not None:
            self._server.close()
        conns = [*self._conns.values(), *self._serving]
        for conn in conns:
            conn.close("transport closed")
        if conns:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    asyncio.gather(*(c.pipe.wait_closed() for c in conns), return_exceptions=True), 1.0
                )
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None

    def _spawn(self, coroutine: object, name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine, name=name)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def attach(self, address: Address, on_frame: FrameHandler) -> Link:
        if self._handler is not None:
            raise TransportError(f"{address} is already attached to this network transport")
        self._handler = on_frame
        return _NetLink(self, address)

    # ------------------------------------------------------------------ sessions

    async def open_session(
        self, binding: SessionBinding, *, peers: set[str] | None = None, timeout: float = 30.0
    ) -> None:
        """Connect to and authenticate with every peer device of `binding` (or `peers`) for it.

        Raises the peer's refusal (`HandshakeRefused`, `ProtocolMismatch`) or, after `timeout`
        seconds of trying, `PeerTimeout` naming the devices that never became ready.
        """
        self.register_session(binding)
        wanted = (peers if peers is not None else set(binding.devices())) - {self.device}
        for device in sorted(wanted):
            if device not in self.peers:
                raise HandshakeRefused("unknown-device", f"device {device} has no public key in the policy")
            if self._dials(device):
                if device not in self._dialing:
                    self._dialing[device] = self._spawn(self._dial_loop(device), f"dial {device}")
                elif (conn := self._conns.get(device)) is not None:
                    conn.state.join(binding)
                    conn.flush()
            elif self.listen is None:
                raise TransportError(f"neither {self.device} nor {device} has an address to connect to")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._changed.clear()
            for device in sorted(wanted):
                failure = self._failures.get((device, binding.session))
                if failure is not None:
                    raise failure
            waiting = [d for d in sorted(wanted) if not self._is_open(d, binding.session)]
            if not waiting:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                details = "; ".join(f"{d}: {self._last_error.get(d, 'no connection')}" for d in waiting)
                raise PeerTimeout(
                    f"could not connect to {', '.join(waiting)} within {timeout:g}s ({details})",
                    session=binding.session,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def register_session(self, binding: SessionBinding) -> None:
        """Accept JOINs for `binding`'s session from now on (`open_session` does this first)."""
        self._bindings[binding.session] = binding

    def close_session(self, session: str) -> None:
        """Forget a finished session (later JOINs for it are refused as unknown)."""
        self._bindings.pop(session, None)
        self._ready = {(d, s) for d, s in self._ready if s != session}

    def _is_open(self, device: str, session: str) -> bool:
        # Sticky: a peer that was ready once stays ready. It may already have finished its role and
        # closed the connection (its last frames acknowledged) before our other peers were ready.
        return (device, session) in self._ready

    # ------------------------------------------------------------------ connections

    async def _dial_loop(self, device: str) -> None:
        address = self.peers[device].address or ""
        carrier = carrier_for(address)
        backoff = Backoff(seed=hash(device) & 0xFFFF)
        while not self._closing:
            try:
                pipe = await asyncio.wait_for(
                    carrier.dial(address, self._client_ssl, self.handshake_timeout),
                    self.handshake_timeout + 1.0,
                )
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                self._last_error[device] = str(exc) or type(exc).__name__
                await asyncio.sleep(backoff.next_delay())
                continue
            except Exception as exc:  # a carrier's own refusal (e.g. an HTTP error from a proxy)
                self._last_error[device] = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(backoff.next_delay())
                continue
            peer_key = certificate_public_key(pipe.peer_certificate())
            state = Connection(
                self.identity,
                self.directory,
                self._bindings.get,
                dialer=True,
                expected_device=device,
                peer_key=peer_key,
            )
            for binding in self._bindings.values():
                if device in binding.devices():
                    state.join(binding)
            conn = _Conn(self, pipe, state)
            await conn.serve()
            self._lost(conn)
            if conn.authenticated:
                backoff.reset()
            await asyncio.sleep(backoff.next_delay())

    async def _accept(self, pipe: Pipe) -> None:
        # The carrier's server owns this task; `aclose` ends it by closing its connection. A
        # cancellation must not escape either: asyncio's stream server would log it as an error.
        try:
            await self._serve_accepted(pipe)
        except asyncio.CancelledError:
            pipe.abort()
        except Exception as exc:  # a bug must not take the listener down; the connection goes
            log.error("%s: error serving a connection: %r", self.device, exc)
            pipe.abort()

    async def _serve_accepted(self, pipe: Pipe) -> None:
        if self._closing or self._handshaking >= self.max_handshaking:
            self._refused("?", f"too many unauthenticated connections ({self._handshaking}): closed")
            pipe.abort()
            return
        peer_key = certificate_public_key(pipe.peer_certificate())
        if peer_key is None:
            self._refused("?", "no Ed25519 client certificate")
            pipe.abort()
            return
        state = Connection(self.identity, self.directory, self._bindings.get, dialer=False, peer_key=peer_key)
        conn = _Conn(self, pipe, state)
        self._handshaking += 1
        self._serving.add(conn)
        try:
            await conn.serve()
        finally:
            self._serving.discard(conn)
            if not conn.authenticated:
                self._handshaking -= 1
            self._lost(conn)

    def _authenticated(self, conn: _Conn) -> None:
        device = conn.peer
        if not conn.state.dialer:
            self._handshaking -= 1
        old = self._conns.get(device)
        if old is not None and old is not conn:
            old.abort("replaced by a new connection")
        self._conns[device] = conn
        self.connections_made += 1
        self._status(
            f"connected {self.device} <-> {device} ({'dialed' if conn.state.dialer else 'accepted'})"
        )

    def _lost(self, conn: _Conn) -> None:
        device = conn.state.peer_device
        if device is not None and self._conns.get(device) is conn:
            del self._conns[device]
            self._last_error[device] = conn.reason
            if not self._closing:
                self._status(f"connection to {device} lost ({conn.reason})")
        self._changed.set()

    def _session_opened(self, conn: _Conn, session: str) -> None:
        self._ready.add((conn.peer, session))
        self._status(f"session {session}: {conn.peer} ready")
        queued = self._queued.pop(conn.peer, None)
        while queued:
            self._write_data(conn, queued.popleft())
        self._changed.set()

    def _session_refused(self, conn: _Conn, event: SessionRefused) -> None:
        error = event.error
        side = "refused by" if event.by_peer else "refused"
        self._refused(
            conn.peer, f"session {event.session}: {side} {conn.peer}: {error.reason}: {error.detail}"
        )
        binding = self._bindings.get(event.session)
        if event.by_peer and error.reason in RETRYABLE and binding is not None:
            loop = asyncio.get_running_loop()
            loop.call_later(0.2, self._rejoin, conn, binding)
            return
        # A refusal between two devices of this session ends the session here too; a stranger's
        # refused JOIN (wrong role, replayed bytes) changes nothing for the session.
        if binding is not None and conn.peer in binding.devices():
            if event.by_peer or error.reason == "protocol-mismatch":
                self._failures[(conn.peer, event.session)] = error
                self._changed.set()

    def _rejoin(self, conn: _Conn, binding: SessionBinding) -> None:
        if not conn.state.closed and binding.session in self._bindings:
            conn.state.join(binding)
            conn.flush()

    def _connection_refused(self, conn: _Conn, event: ConnectionRefused) -> None:
        error = event.error
        side = "refused by" if event.by_peer else "refused"
        self._refused(conn.peer, f"connection {side} {conn.peer}: {error.reason}: {error.detail}")
        if conn.state.expected_device is not None:  # the device we dialed refused us, or we it
            for session, binding in self._bindings.items():
                if conn.state.expected_device in binding.devices():
                    self._failures[(conn.state.expected_device, session)] = error
        conn.flush()
        self._changed.set()
        # Let the REFUSE frame reach the peer before the socket closes.
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, conn.close, f"refused: {error.reason}")

    def _refused(self, peer: str, message: str) -> None:
        self.refusals.append(message)
        log.warning("%s: %s", self.device, message)
        self._status(message)

    def _status(self, line: str) -> None:
        log.info("%s", line)
        if self.on_status is not None:
            self.on_status(line)

    # ------------------------------------------------------------------ frames

    def _may_send(self, conn: _Conn, payload: bytes) -> bool:
        assert self.frame_origin is not None
        origin = self.frame_origin(payload)
        if origin is None:
            return True  # not an envelope: the session layer counts it as garbage
        session, sender = origin
        binding = self._bindings.get(session)
        return (
            binding is not None
            and session in conn.state.open_sessions
            and binding.roles.get(sender) == conn.peer
        )

    def _deliver_local(self, frame: bytes) -> None:
        if self._handler is not None:
            try:
                self._handler(self.local_address, frame)
            except Exception as exc:
                log.error("%s: frame handler raised %r", self.device, exc)

    def _deliver(self, conn: _Conn, payload: bytes) -> None:
        handler = self._handler
        if handler is None:
            return
        if self.frame_origin is not None and not self._may_send(conn, payload):
            self.forged += 1
            if self.forged == 1 or self.forged % 1000 == 0:
                self._refused(
                    conn.peer,
                    f"dropped {self.forged} frame(s) from {conn.peer}: a session or role it has not joined",
                )
            return
        try:
            handler(self.address_of(conn.peer), payload)
        except Exception as exc:  # the contract says handlers never raise; a bug must not kill the socket
            log.error("%s: frame handler raised %r", self.device, exc)

    async def _send(self, to: Address, frame: bytes) -> None:
        if len(frame) > self.max_frame:
            raise TransportError(
                f"frame of {len(frame)} bytes to {to} exceeds the {self.max_frame}-byte limit"
            )
        device = self._device_at(to)
        if device is None:
            return  # nobody there yet; the session layer retransmits
        if device == self.device:  # two roles on this device: no socket, but still never re-entrant
            asyncio.get_running_loop().call_soon(self._deliver_local, frame)
            return
        conn = self._conns.get(device)
        if conn is None or not conn.state.is_open:
            queue = self._queued.setdefault(device, deque(maxlen=_MAX_QUEUED))
            queue.append(frame)
            return
        self._write_data(conn, frame)
        if conn.pipe.buffered() > _HIGH_WATER:
            with contextlib.suppress(OSError, ConnectionError):
                await conn.pipe.drain()

    def _write_data(self, conn: _Conn, frame: bytes) -> None:
        conn.write(encode_frame(FrameKind.DATA, frame))
        self._data_frames += 1
        if self.drop_after_frames is not None and self._data_frames >= self.drop_after_frames:
            self.drop_after_frames = None
            self._status(f"test hook: closing the connection to {conn.peer} after {self._data_frames} frames")
            conn.abort("closed by test hook")

    def drop_connections(self) -> None:
        """Test hook: abort every open connection (dialers reconnect, the session layer retransmits)."""
        for conn in list(self._conns.values()):
            conn.abort("closed by test hook")


TcpTransport = NetworkTransport
"""The network transport, named after its default carrier."""
