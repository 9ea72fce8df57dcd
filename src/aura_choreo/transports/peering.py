"""A network transport's connections to peer devices: dialing, accepting, and what their events mean.

The dialing side reconnects with backoff and re-joins its sessions; the accepting side admits at most
`max_handshaking` unauthenticated connections at once. Each live connection is a `Conn`; its
handshake events (authenticated, session opened or refused, connection refused) update the shared
tables here. `Peering` is the half of `transports.carrier.NetworkTransport` that owns them; the other
half (addresses, lifecycle, the session API, frame delivery) is in `carrier.py`.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import ssl
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aura_choreo.errors import HandshakeRefused, TransportError
from aura_choreo.transports.connection import Conn
from aura_choreo.transports.net.framing import encode_data
from aura_choreo.transports.net.handshake import (
    RETRYABLE,
    Connection,
    ConnectionRefused,
    SessionBinding,
    SessionRefused,
)
from aura_choreo.transports.net.identity import Identity, certificate_public_key
from aura_choreo.transports.net.timing import Backoff
from aura_choreo.transports.pipes import Carrier, Pipe
from aura_choreo.transports.tls import Credentials

log = logging.getLogger("aura_choreo.tcp")

StatusCallback = Callable[[str], None]
_MAX_REFUSALS_KEPT = 200
_SAME_RUN = "do both sides run the same protocol, --param and --session?"


@dataclass(frozen=True)
class PeerDevice:
    """A device this process may talk to: its pinned key and, if it listens, its address."""

    device: str
    public_key: bytes
    address: str | None = None


_CARRIERS = {
    "tcp": "aura_choreo.transports.tcp",
    "ws": "aura_choreo.transports.ws",
    "quic": "aura_choreo.transports.quic",
}
_EXTRAS = {"ws": "websocket", "quic": "quic"}


def carrier_for(address: str) -> Carrier:
    """The carrier of `address`'s scheme; `TransportError` names the extra to install if missing."""
    scheme = address.partition("://")[0]
    module_name = _CARRIERS.get(scheme)
    if module_name is None:
        raise TransportError(f"`{address}`: no carrier for `{scheme}://` (available: tcp://, ws://, quic://)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = _EXTRAS.get(scheme, scheme)
        raise TransportError(
            f"`{scheme}://` needs an optional dependency ({exc.name}): pip install 'aura-choreo[{extra}]'"
        ) from None
    carrier: Carrier = module.CARRIER
    return carrier


class Peering(ABC):
    """Connections to peer devices and the tables their handshake events keep (see the module doc).

    The attributes are set by `NetworkTransport.__init__`.
    """

    identity: Identity
    device: str
    peers: Mapping[str, PeerDevice]
    directory: dict[str, bytes]
    max_frame: int
    keepalive_interval: float
    idle_timeout: float
    handshake_timeout: float
    max_handshaking: int
    on_status: StatusCallback | None
    drop_after_frames: int | None
    refusals: list[str]
    refused: int
    _elsewhere: dict[str, str]
    connections_made: int
    _conns: dict[str, Conn]
    _bindings: dict[str, SessionBinding]
    _closed: OrderedDict[str, SessionBinding]
    _failures: dict[tuple[str, str], HandshakeRefused]
    _queued: dict[str, deque[bytes]]
    _last_error: dict[str, str]
    _handshaking: int
    _serving: set[Conn]
    _ready: set[tuple[str, str]]
    _changed: asyncio.Event
    _closing: bool
    _data_frames: int
    _credentials: Credentials
    instance: bytes
    _instances: dict[str, dict[str, bytes]]
    _spoken: set[bytes]

    @abstractmethod
    def _deliver(self, conn: Conn, payload: bytes) -> None:
        """Hand a data frame that arrived on `conn` to the session layer."""

    @abstractmethod
    def _joinable(self, session: str) -> SessionBinding | None:
        """The binding of a session a peer may JOIN here: an open one, or one recently closed (its
        peer, reconnecting, re-joins it to have its last frames answered)."""

    # ------------------------------------------------------------------ connections

    async def _dial_loop(self, device: str) -> None:
        address = self.peers[device].address or ""
        carrier = carrier_for(address)
        backoff = Backoff(seed=hash(device) & 0xFFFF)
        while not self._closing:
            try:
                pipe = await asyncio.wait_for(
                    carrier.dial(address, self._credentials, self.handshake_timeout),
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
                instance=self.instance,
                earlier_instance=self._instance_of,
            )
            # Closed sessions too (the ones still remembered): the peer may still run one we finished,
            # with a frame whose ack the dropped connection lost. Without the JOIN its resend has no
            # connection that carries that session (queued for good, or dropped as forged here).
            for binding in (*self._bindings.values(), *self._closed.values()):
                if device in binding.devices():
                    state.join(binding)
            conn = Conn(self, pipe, state)
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
        state = Connection(
            self.identity,
            self.directory,
            self._joinable,
            dialer=False,
            peer_key=peer_key,
            instance=self.instance,
            earlier_instance=self._instance_of,
        )
        conn = Conn(self, pipe, state)
        self._handshaking += 1
        self._serving.add(conn)
        try:
            await conn.serve()
        finally:
            self._serving.discard(conn)
            if not conn.authenticated:
                self._handshaking -= 1
            self._lost(conn)

    def _authenticated(self, conn: Conn) -> None:
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

    def _lost(self, conn: Conn) -> None:
        device = conn.state.peer_device
        if device is not None and self._conns.get(device) is conn:
            del self._conns[device]
            self._last_error[device] = conn.reason
            if not self._closing:
                self._status(f"connection to {device} lost ({conn.reason})")
        elif not conn.authenticated and not self._closing:  # no table knew it: say here why it ended
            side = "to" if conn.state.dialer else "from"
            why = conn.reason
            log.info("%s: connection %s %s closed unauthenticated (%s)", self.device, side, conn.peer, why)
        self._changed.set()

    def _instance_of(self, device: str, session: str) -> bytes | None:
        """The process (instance) of `device` that opened `session` here, if its frames reached the
        session layer: they used up sequence numbers a new process of the device would use again.
        (If none did, nothing it sent was acknowledged either, so a new process starts cleanly.)"""
        instance = self._instances.get(session, {}).get(device)
        return instance if instance in self._spoken else None

    def _session_opened(self, conn: Conn, session: str) -> None:
        self._elsewhere.pop(conn.peer, None)
        # The process of the peer's device that opened the session owns it (see `net.handshake`), unless
        # it never spoke: then its successor (allowed in by `_instance_of`) takes its place.
        owners = self._instances.setdefault(session, {})
        if owners.get(conn.peer) not in self._spoken:
            owners[conn.peer] = conn.state.peer_instance
        if session in self._bindings:  # not a closed session re-joined: `_ready` stays bounded
            self._ready.add((conn.peer, session))
            self._status(f"session {session}: {conn.peer} ready")
        queued = self._queued.pop(conn.peer, None)
        while queued:
            self._write_data(conn, queued.popleft())
        self._changed.set()

    def _session_refused(self, conn: Conn, event: SessionRefused) -> None:
        error = event.error
        if event.by_peer and event.session in self._closed and event.session not in self._bindings:
            # Our re-JOIN of a session we finished, which the peer has finished and forgotten too:
            # nothing is waiting on it, so it is no refusal to report.
            log.info("%s: closed session %s not re-joined: %s", self.device, event.session, error.reason)
            return
        # A peer's refusal already reads "refused by <peer>: ..." (`Connection._on_refuse`).
        side = "" if event.by_peer else f"refused {conn.peer}: "
        self._refused(conn.peer, f"session {event.session}: {side}{error.reason}: {error.detail}")
        binding = self._bindings.get(event.session)
        if error.reason in RETRYABLE:  # what a PeerTimeout should say, if it comes to that
            self._elsewhere[conn.peer] = (
                f"{conn.peer} has no session {event.session[:64]} (yet?): {_SAME_RUN}"
                if event.by_peer
                else f"{conn.peer} asked for session {event.session[:64]}, not this one: {_SAME_RUN}"
            )
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

    def _rejoin(self, conn: Conn, binding: SessionBinding) -> None:
        if not conn.state.closed and binding.session in self._bindings:
            conn.state.join(binding)
            conn.flush()

    def _connection_refused(self, conn: Conn, event: ConnectionRefused) -> None:
        error = event.error
        side = "" if event.by_peer else f"refused {conn.peer}: "
        self._refused(conn.peer, f"connection: {side}{error.reason}: {error.detail}")
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
        # Counted always; kept, logged and shown once (a peer retrying, or a stranger connecting in a
        # loop, would grow the list and the log without bound) and at most `_MAX_REFUSALS_KEPT` of them.
        self.refused += 1
        if len(self.refusals) >= _MAX_REFUSALS_KEPT or message in self.refusals:
            log.debug("%s: %s (again)", self.device, message)
            return
        self.refusals.append(message)
        log.warning("%s: %s", self.device, message)
        self._status(message)

    def _status(self, line: str) -> None:
        log.info("%s", line)
        if self.on_status is not None:
            self.on_status(line)

    def _write_data(self, conn: Conn, frame: bytes) -> None:
        conn.write(encode_data(frame))
        self._data_frames += 1
        if self.drop_after_frames is not None and self._data_frames >= self.drop_after_frames:
            self.drop_after_frames = None
            self._status(f"test hook: closing the connection to {conn.peer} after {self._data_frames} frames")
            conn.abort("closed by test hook")

    def drop_connections(self) -> None:
        """Test hook: abort every open connection (dialers reconnect, the session layer retransmits)."""
        for conn in list(self._conns.values()):
            conn.abort("closed by test hook")
