"""The authenticated connection state machine of SPEC §5.6. Sans-I/O: frames in, frames and events out.

Belongs here: everything that changes what a connection may do next (HELLO exchange, per-session
JOIN/ACCEPT/REFUSE, when DATA may flow, replies to PING). Never here: sockets, TLS, clocks, tasks.

One connection joins two devices and is shared by every session between them:

    dialer                                   listener
      HELLO {version, device, nonce_d}  ->
                                        <-   HELLO {version, device, nonce_l}
      JOIN {hash, session, roles, sig_d} ->            (one per session, at any time)
                                        <-   ACCEPT {session, sig_l}  |  REFUSE {session, reason}
      DATA ...                          <->  DATA ...   (only once a session is accepted)

Both signatures cover the protocol hash, the session id, both devices, the roles each plays and both
nonces, so a JOIN recorded on one connection is refused on any other (the listener's nonce differs),
and each side proves possession of its device key whatever the carrier's own authentication. The
listener checks the peer's key against the device it claims (`directory`), that the session exists
here, that the protocol hashes agree (else `ProtocolMismatch` naming both) and that the device plays a
role in the session. Any refusal is sent to the peer (who raises it) and reported locally.

A restarted process numbers its frames from 1 again: its peer, mid-session, would drop them as
duplicates and splice in the rest. So HELLO carries the transport's random `instance`, and a session
opened with one instance of a device is refused (`peer-restarted`) to another, by either side.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import msgspec

from aura_choreo.errors import HandshakeRefused, ProtocolMismatch
from aura_choreo.transports.net.framing import FrameKind, encode_frame
from aura_choreo.transports.net.identity import Identity, verify_signature

NET_VERSION = 1
_MAX_NAME = 256


class Hello(msgspec.Struct, array_like=True, frozen=True):
    version: int
    device: str
    nonce: bytes
    instance: bytes = b""
    """Random per transport (process): a device that comes back with another one was restarted."""


class Join(msgspec.Struct, array_like=True, frozen=True):
    protocol_hash: str
    session: str
    roles: dict[str, str]
    """role -> device of every role of the session, as the dialer sees it."""
    signature: bytes


class Accept(msgspec.Struct, array_like=True, frozen=True):
    session: str
    signature: bytes


class Refuse(msgspec.Struct, array_like=True, frozen=True):
    session: str
    """"" refuses the whole connection."""
    reason: str
    message: str
    protocol_hash: str = ""


_DECODERS: dict[FrameKind, msgspec.msgpack.Decoder[Hello | Join | Accept | Refuse]] = {
    FrameKind.HELLO: msgspec.msgpack.Decoder(Hello),
    FrameKind.JOIN: msgspec.msgpack.Decoder(Join),
    FrameKind.ACCEPT: msgspec.msgpack.Decoder(Accept),
    FrameKind.REFUSE: msgspec.msgpack.Decoder(Refuse),
}
_encode = msgspec.msgpack.encode


@dataclass(frozen=True)
class SessionBinding:
    """What a device knows about one session it takes part in."""

    protocol_hash: str
    session: str
    roles: Mapping[str, str] = field(hash=False)
    """role -> device, every role of the session."""

    def roles_of(self, device: str) -> tuple[str, ...]:
        return tuple(sorted(role for role, d in self.roles.items() if d == device))

    def devices(self) -> frozenset[str]:
        return frozenset(self.roles.values())


def _transcript(
    stage: str, binding: SessionBinding, dialer: str, listener: str, nonces: tuple[bytes, bytes]
) -> bytes:
    roles = sorted(binding.roles.items())
    return b"aura-choreo/net/v1/" + _encode(
        [stage, binding.protocol_hash, binding.session, dialer, listener, roles, nonces[0], nonces[1]]
    )


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class Authenticated:
    device: str


@dataclass(frozen=True)
class SessionOpened:
    session: str


@dataclass(frozen=True)
class SessionRefused:
    session: str
    error: HandshakeRefused
    by_peer: bool
    """True when the peer refused us; False when we refused the peer."""


@dataclass(frozen=True)
class ConnectionRefused:
    """The connection is over: close it. `by_peer` as for `SessionRefused`."""

    error: HandshakeRefused
    by_peer: bool


@dataclass(frozen=True)
class DataReceived:
    payload: bytes


Event = Authenticated | SessionOpened | SessionRefused | ConnectionRefused | DataReceived

RETRYABLE = frozenset({"unknown-session"})
"""Refusals that may pass later (the peer has not registered the session yet)."""


class Connection:
    """One connection's handshake and gating. `dialer` says which side we are.

    `peer_key` is the public key the carrier authenticated (TLS leaf), or None if the carrier has no
    authentication of its own (then the signatures alone prove the key). `directory` maps device ->
    pinned public key; `sessions` looks up a session this device takes part in. Outgoing bytes
    accumulate in `data_to_send()`.
    """

    def __init__(
        self,
        identity: Identity,
        directory: Mapping[str, bytes],
        sessions: Callable[[str], SessionBinding | None],
        *,
        dialer: bool,
        expected_device: str | None = None,
        peer_key: bytes | None = None,
        nonce: Callable[[], bytes] = lambda: secrets.token_bytes(32),
        instance: bytes = b"",
        earlier_instance: Callable[[str, str], bytes | None] = lambda _device, _session: None,
    ) -> None:
        self.identity = identity
        self.directory = directory
        self.sessions = sessions
        self.dialer = dialer
        self.expected_device = expected_device
        self.peer_key = peer_key
        self.peer_device: str | None = None
        self.instance = instance
        self.peer_instance = b""
        self.earlier_instance = earlier_instance
        """(device, session) -> the instance of that device the session was opened with, if any."""
        self.open_sessions: set[str] = set()
        self.closed = False
        self._nonce = nonce()
        self._peer_nonce = b""
        self._pending_joins: dict[str, SessionBinding] = {}
        self._sent_joins: dict[str, SessionBinding] = {}
        self._out: list[bytes] = []

    # ------------------------------------------------------------------ driving

    def start(self) -> list[Event]:
        """Begin: the dialer sends HELLO; the listener checks the carrier's key first."""
        if self.peer_key is not None and not self.dialer and self._device_of_key(self.peer_key) is None:
            return self._refuse_connection("unknown-key", "the peer's key is not pinned for any device")
        if self.dialer:
            if self.expected_device is not None and self.peer_key is not None:
                pinned = self.directory.get(self.expected_device)
                if pinned != self.peer_key:
                    return self._refuse_connection(
                        "wrong-key",
                        f"the peer at this address does not hold {self.expected_device}'s pinned key",
                    )
            self._send(FrameKind.HELLO, self._hello())
        return []

    def join(self, binding: SessionBinding) -> None:
        """Ask to open `binding`'s session on this connection (dialer); sent once HELLOs are done."""
        if self.closed or binding.session in self.open_sessions:
            return
        if self.peer_device is None:
            self._pending_joins[binding.session] = binding
        else:
            self._send_join(binding)  # a refusal (the peer restarted) is on its way to the peer

    def data(self, payload: bytes) -> bytes:
        """The bytes of a DATA frame (only meaningful once a session is open)."""
        return encode_frame(FrameKind.DATA, payload)

    @property
    def has_output(self) -> bool:
        """Whether `data_to_send` has anything (after a chunk of data frames, which answer nothing,
        it has not)."""
        return bool(self._out)

    def data_to_send(self) -> bytes:
        if not self._out:
            return b""
        out = b"".join(self._out)
        self._out.clear()
        return out

    @property
    def is_open(self) -> bool:
        return bool(self.open_sessions) and not self.closed

    def receive(self, kind: FrameKind, body: bytes) -> list[Event]:
        """Handle one frame from the peer. Never raises: bad input becomes a `ConnectionRefused`."""
        if self.closed:
            return []
        if kind is FrameKind.DATA:
            if not self.open_sessions:
                return self._refuse_connection("not-open", "data frame before any session was accepted")
            return [DataReceived(body)]
        if kind is FrameKind.PING:
            self._send(FrameKind.PONG, b"")
            return []
        if kind is FrameKind.PONG:
            return []
        try:
            message = _DECODERS[kind].decode(body)
        except (msgspec.DecodeError, KeyError):
            return self._refuse_connection("malformed", f"malformed {kind.name} frame")
        if isinstance(message, Hello):
            return self._on_hello(message)
        if isinstance(message, Refuse):  # a refusal may come before the peer's HELLO
            return self._on_refuse(message)
        if self.peer_device is None:
            return self._refuse_connection("not-authenticated", f"{kind.name} frame before HELLO")
        if isinstance(message, Join):
            return self._on_join(message)
        assert isinstance(message, Accept)
        return self._on_accept(message)

    # ------------------------------------------------------------------ handlers

    def _on_hello(self, hello: Hello) -> list[Event]:
        if self.peer_device is not None:
            return self._refuse_connection("replayed", "a second HELLO on one connection")
        if hello.version != NET_VERSION:
            return self._refuse_connection(
                "version", f"network protocol version {hello.version} is not ours ({NET_VERSION})"
            )
        if len(hello.nonce) != 32 or not 0 < len(hello.device) <= _MAX_NAME or len(hello.instance) > 64:
            return self._refuse_connection("malformed", "malformed HELLO")
        pinned = self.directory.get(hello.device)
        if pinned is None:
            return self._refuse_connection(
                "unknown-device", f"device `{hello.device[:64]}` is not in the policy"
            )
        if self.peer_key is not None and pinned != self.peer_key:
            return self._refuse_connection(
                "unknown-key", f"the peer's key is not the one pinned for {hello.device}"
            )
        if self.dialer and self.expected_device is not None and hello.device != self.expected_device:
            return self._refuse_connection(
                "wrong-device", f"expected {self.expected_device} at this address, {hello.device} answered"
            )
        self.peer_device = hello.device
        self._peer_nonce = hello.nonce
        self.peer_instance = hello.instance
        if not self.dialer:
            self._send(FrameKind.HELLO, self._hello())
        pending, self._pending_joins = self._pending_joins, {}
        events: list[Event] = [Authenticated(hello.device)]
        for binding in pending.values():
            events += self._send_join(binding)
        return events

    def _hello(self) -> bytes:
        return _encode(Hello(NET_VERSION, self.identity.device, self._nonce, self.instance))

    def _restarted(self, session: str) -> str | None:
        """Why the peer may not have `session` on this connection: its device opened it from another
        process (instance) that has since gone. None if not (an unknown instance is no restart)."""
        peer = self.peer_device or ""
        earlier = self.earlier_instance(peer, session)
        if not earlier or not self.peer_instance or earlier == self.peer_instance:
            return None
        return (
            f"device {peer} restarted mid-session {session[:64]}: its new process's frames cannot be "
            "told from those its earlier process sent; run the roles again under a new --session id"
        )

    def _nonces(self) -> tuple[bytes, bytes]:
        return (self._nonce, self._peer_nonce) if self.dialer else (self._peer_nonce, self._nonce)

    def _devices(self) -> tuple[str, str]:
        peer = self.peer_device or ""
        return (self.identity.device, peer) if self.dialer else (peer, self.identity.device)

    def _send_join(self, binding: SessionBinding) -> list[Event]:
        restarted = self._restarted(binding.session)
        if restarted is not None:  # tell the new process, which waits for this JOIN, why none comes
            return self._refuse_session(binding.session, "peer-restarted", restarted)
        dialer, listener = self._devices()
        signature = self.identity.sign(_transcript("join", binding, dialer, listener, self._nonces()))
        self._sent_joins[binding.session] = binding
        self._send(
            FrameKind.JOIN,
            _encode(Join(binding.protocol_hash, binding.session, dict(binding.roles), signature)),
        )
        return []

    def _on_join(self, join: Join) -> list[Event]:
        peer = self.peer_device or ""
        if self.dialer:
            return self._refuse_connection("unexpected", "JOIN sent to the dialing side")
        binding = self.sessions(join.session)
        if binding is None:
            return self._refuse_session(
                join.session, "unknown-session", f"no session {join.session[:64]} here"
            )
        if join.protocol_hash != binding.protocol_hash:
            error = ProtocolMismatch(binding.protocol_hash, join.protocol_hash, session=binding.session)
            self._send(
                FrameKind.REFUSE,
                _encode(Refuse(binding.session, error.reason, str(error), binding.protocol_hash)),
            )
            return [SessionRefused(binding.session, error, by_peer=False)]
        if not binding.roles_of(peer):
            return self._refuse_session(
                binding.session, "no-role", f"device {peer} plays no role in session {binding.session}"
            )
        if dict(join.roles) != dict(binding.roles):
            return self._refuse_session(
                binding.session,
                "role-mismatch",
                f"device {peer} maps roles to devices differently (do both sides use the same policy?)",
            )
        dialer, listener = self._devices()
        signed = _transcript("join", binding, dialer, listener, self._nonces())
        if join.session in self.open_sessions or not verify_signature(
            self.directory[peer], join.signature, signed
        ):
            return self._refuse_session(
                binding.session,
                "replayed",
                "JOIN signature does not cover this connection's nonces (a replayed or forged handshake)",
            )
        restarted = self._restarted(binding.session)
        if restarted is not None:
            return self._refuse_session(binding.session, "peer-restarted", restarted)
        accept = self.identity.sign(_transcript("accept", binding, dialer, listener, self._nonces()))
        self._send(FrameKind.ACCEPT, _encode(Accept(binding.session, accept)))
        self.open_sessions.add(binding.session)
        return [SessionOpened(binding.session)]

    def _on_accept(self, accept: Accept) -> list[Event]:
        binding = self._sent_joins.get(accept.session)
        if not self.dialer or binding is None or accept.session in self.open_sessions:
            return self._refuse_connection("unexpected", "ACCEPT for a session we did not ask to join")
        dialer, listener = self._devices()
        signed = _transcript("accept", binding, dialer, listener, self._nonces())
        if not verify_signature(self.directory[self.peer_device or ""], accept.signature, signed):
            return self._refuse_connection("bad-signature", "ACCEPT signature does not verify")
        self.open_sessions.add(accept.session)
        return [SessionOpened(accept.session)]

    def _on_refuse(self, refuse: Refuse) -> list[Event]:
        who = self.peer_device or self.expected_device or "the peer"
        message = f"refused by {who}: {refuse.message[:500]}"
        binding = self._sent_joins.get(refuse.session)
        if refuse.reason == "protocol-mismatch" and binding is not None:
            error: HandshakeRefused = ProtocolMismatch(
                binding.protocol_hash, refuse.protocol_hash[:128], session=refuse.session
            )
        else:
            error = HandshakeRefused(refuse.reason[:64], message, session=refuse.session or None)
        if not refuse.session:
            self.closed = True
            return [ConnectionRefused(error, by_peer=True)]
        self._sent_joins.pop(refuse.session, None)
        return [SessionRefused(refuse.session, error, by_peer=True)]

    # ------------------------------------------------------------------ output

    def _device_of_key(self, key: bytes) -> str | None:
        return next((d for d, k in self.directory.items() if k == key), None)

    def _send(self, kind: FrameKind, body: bytes) -> None:
        self._out.append(encode_frame(kind, body))

    def _refuse_session(self, session: str, reason: str, message: str) -> list[Event]:
        self._send(FrameKind.REFUSE, _encode(Refuse(session, reason, message)))
        return [SessionRefused(session, HandshakeRefused(reason, message, session=session), by_peer=False)]

    def _refuse_connection(self, reason: str, message: str) -> list[Event]:
        self._send(FrameKind.REFUSE, _encode(Refuse("", reason, message)))
        self.closed = True
        return [ConnectionRefused(HandshakeRefused(reason, message), by_peer=False)]
