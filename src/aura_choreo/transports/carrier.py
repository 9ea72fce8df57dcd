"""The network carriers' shared shell: connections, dialing, sessions, queues (SPEC §5.6).

Everything that decides anything lives in `transports.net` (framing, the handshake state machine,
keep-alive and backoff). A carrier (`tcp.py`, `ws.py`) only opens byte pipes: it listens and dials,
with TLS 1.3 both ways. This module and its two helpers move bytes between those pipes and the state
machines (`connection.py`: one connection; `peering.py`: dialing, accepting, handshake events):

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
import logging
import secrets
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping

from aura_choreo.errors import HandshakeRefused, PeerTimeout, TransportError
from aura_choreo.transports.base import (
    DEFAULT_MAX_FRAME,
    Address,
    ClosableLink,
    FrameHandler,
    Link,
    Transport,
)
from aura_choreo.transports.connection import Conn
from aura_choreo.transports.net.framing import FrameKind, pack_header
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.peering import PeerDevice, Peering, StatusCallback, carrier_for
from aura_choreo.transports.pipes import Listener, parse_address
from aura_choreo.transports.tls import Credentials

log = logging.getLogger("aura_choreo.tcp")

FrameOrigin = Callable[[bytes], tuple[str, str] | None]
"""(session id, sender role) of a session-layer frame, or None if it has none (garbage)."""
_MAX_QUEUED = 10_000
_DATA = int(FrameKind.DATA)
_MAX_CLOSED = 1024
"""How many closed sessions a transport remembers for their peers' late frames (the oldest go first)."""


class _NetLink(ClosableLink):
    def __init__(self, transport: NetworkTransport, address: Address) -> None:
        super().__init__(address)
        self._transport = transport

    def send(self, to: Address, frame: bytes) -> Awaitable[None]:
        # Once per message: written at once, no coroutine (`_post` returns one only to drain).
        if self._closed:
            raise TransportError(f"link {self._address!r} is closed")
        return self._transport._post(to, frame)

    async def _deliver(self, to: Address, frame: bytes) -> None:
        await self._transport._post(to, frame)

    def _release(self) -> None:
        self._transport._handler = None


class NetworkTransport(Peering, Transport):
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
        """The refusals, with their reasons, in order (also logged): each once, at most 200."""
        self.refused = 0
        """Every refusal counted, repeats included."""
        self._elsewhere: dict[str, str] = {}
        """device -> why it has not joined our session: it is on another one (see `_session_refused`)."""
        self.connections_made = 0
        self._handler: FrameHandler | None = None
        self._conns: dict[str, Conn] = {}
        self._bindings: dict[str, SessionBinding] = {}
        # Recently closed sessions (oldest first, at most `_MAX_CLOSED`). A peer's last frames arrive
        # after we close (its final ack; a data frame resent because our ack was lost): from a device
        # bound to the session on a connection that joined it, they still go to the session layer,
        # which answers frames of finished endpoints (re-acks data, delivers nothing), instead of
        # being counted as forged. Anything else about a closed session is refused as before.
        self._closed: OrderedDict[str, SessionBinding] = OrderedDict()
        self._failures: dict[tuple[str, str], HandshakeRefused] = {}
        self._queued: dict[str, deque[bytes]] = {}
        self._dialing: dict[str, asyncio.Task[None]] = {}
        self._last_error: dict[str, str] = {}
        self._handshaking = 0
        self._serving: set[Conn] = set()
        self._ready: set[tuple[str, str]] = set()
        self._addresses: dict[Address, str] = {}
        self._changed = asyncio.Event()
        self._server: Listener | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._done: asyncio.Future[None] | None = None
        self._data_frames = 0
        self._credentials = Credentials(identity)
        self.instance = secrets.token_bytes(16)
        """This transport's (process's) HELLO token: a peer sees a restart by its change."""
        self._instances: dict[str, dict[str, bytes]] = {}
        """session -> peer device -> the instance of the device the session was opened with."""
        self._spoken: set[bytes] = set()
        """Peer instances whose frames reached the session layer."""

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
        try:
            self._server = await carrier.listen(
                host, port, self._accept, self._credentials, self.handshake_timeout
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
            for conn in conns:  # a peer that did not answer our close in time: release the socket now
                conn.pipe.abort()
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

    def _sent(self) -> asyncio.Future[None]:
        """What `_post` returns for a frame written or queued: a future already done, made once (an
        awaitable that needs no coroutine per message)."""
        done = self._done
        if done is None:
            done = self._done = asyncio.get_running_loop().create_future()
            done.set_result(None)
        return done

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
                    carrier_for(self.peers[device].address or "")  # a missing extra fails here, in one line
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
                details = "; ".join(
                    self._elsewhere.get(d) or f"{d}: {self._last_error.get(d, 'no connection')}"
                    for d in waiting
                )
                raise PeerTimeout(
                    f"could not connect to {', '.join(waiting)} within {timeout:g}s ({details})",
                    session=binding.session,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def register_session(self, binding: SessionBinding) -> None:
        """Accept JOINs for `binding`'s session from now on (`open_session` does this first)."""
        self._bindings[binding.session] = binding
        self._closed.pop(binding.session, None)

    def close_session(self, session: str) -> None:
        """Forget a finished session (later JOINs for it are refused as unknown); its peers' late
        frames still reach the session layer for a while (see `_closed`)."""
        binding = self._bindings.pop(session, None)
        if binding is not None:
            self._closed[session] = binding
            self._closed.move_to_end(session)
            if len(self._closed) > _MAX_CLOSED:
                forgotten, _ = self._closed.popitem(last=False)
                self._instances.pop(forgotten, None)
                self._spoken &= {i for devices in self._instances.values() for i in devices.values()}
        self._ready = {(d, s) for d, s in self._ready if s != session}

    def _joinable(self, session: str) -> SessionBinding | None:
        return self._bindings.get(session) or self._closed.get(session)

    def _is_open(self, device: str, session: str) -> bool:
        # Sticky: a peer that was ready once stays ready. It may already have finished its role and
        # closed the connection (its last frames acknowledged) before our other peers were ready.
        return (device, session) in self._ready

    # ------------------------------------------------------------------ frames

    def _may_send(self, conn: Conn, payload: bytes) -> bool:
        assert self.frame_origin is not None
        origin = self.frame_origin(payload)
        if origin is None:
            return True  # not an envelope: the session layer counts it as garbage
        session, sender = origin
        binding = self._bindings.get(session) or self._closed.get(session)
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

    def _deliver(self, conn: Conn, payload: bytes) -> None:
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
        address = conn.peer_address
        if address is None:  # data flows only once the peer is authenticated: its device is known
            address = conn.peer_address = self.address_of(conn.peer)
            # The peer's process has now spoken to the session layer (data or an ack): a restart of it
            # can no longer rejoin its sessions (see `Peering._instance_of`).
            self._spoken.add(conn.state.peer_instance)
        try:
            handler(address, payload)
        except Exception as exc:  # the contract says handlers never raise; a bug must not kill the socket
            log.error("%s: frame handler raised %r", self.device, exc)

    def _post(self, to: Address, frame: bytes) -> Awaitable[None]:
        """Write `frame` to `to`'s connection now (or queue it while there is none); what is returned
        is already done unless the connection's send buffer is full, then it waits for room."""
        if len(frame) > self.max_frame:
            raise TransportError(
                f"frame of {len(frame)} bytes to {to} exceeds the {self.max_frame}-byte limit"
            )
        device = self._addresses.get(to) or self._device_at(to)
        if device is None:
            return self._sent()  # nobody there yet; the session layer retransmits
        if device == self.device:  # two roles on this device: no socket, but still never re-entrant
            asyncio.get_running_loop().call_soon(self._deliver_local, frame)
            return self._sent()
        conn = self._conns.get(device)
        if conn is None or conn.state.closed or not conn.state.open_sessions:  # not `state.is_open`
            queue = self._queued.setdefault(device, deque(maxlen=_MAX_QUEUED))
            queue.append(frame)
            return self._sent()
        pipe = conn.pipe
        if self.drop_after_frames is None:
            # `_write_data` without its test hook, inlined: header and body, one write, no call more.
            pipe.write(pack_header(len(frame) + 1, _DATA) + frame)
            conn.wrote = True
            self._data_frames += 1
        else:
            self._write_data(conn, frame)
        if pipe.must_drain():
            return _drain(conn)
        return self._done or self._sent()


async def _drain(conn: Conn) -> None:
    with contextlib.suppress(OSError, ConnectionError):
        await conn.pipe.drain()


TcpTransport = NetworkTransport
"""The network transport, named after its default carrier."""
