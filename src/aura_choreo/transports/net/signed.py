"""The frames `nats://` publishes (sans-I/O): subjects, and what a sender signs (see `nats_broker`).

Every frame on `nats://` is signed and verified, two of each per round trip, which is most of what the
carrier adds to a raw nats-py exchange. So signing and verifying use libsodium (PyNaCl, in the `[nats]`
extra) when it is installed: its verification takes about 60% of OpenSSL's (measured on this project's
machine: sign ~41 vs ~50 us, verify ~98 vs ~160 us). Ed25519 signatures are deterministic (RFC 8032),
so both libraries produce the same bytes from the same key and accept each other's: devices with and
without PyNaCl interoperate, and `cryptography` (a core dependency) remains the fallback.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from cryptography.hazmat.primitives import serialization

from aura_choreo.errors import HandshakeRefused
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity, verify_signature


def _libsodium() -> tuple[Any, type[Exception]] | None:
    """PyNaCl's bindings and the error its checks raise, or None without PyNaCl."""
    try:
        bindings = importlib.import_module("nacl.bindings")
        errors = importlib.import_module("nacl.exceptions")
    except ImportError:
        return None
    return bindings, errors.CryptoError


SODIUM = _libsodium()

_DOMAIN = b"aura-choreo/nats/v1\x00"
VERSION = 1
_SAFE = re.compile(r"[A-Za-z0-9_\-]")


class SignedFrame(msgspec.Struct, array_like=True, frozen=True):
    """What is published on a subject: a session-layer frame and who vouches for it."""

    version: int
    device: str
    counter: int
    frame: bytes
    signature: bytes


class EnvelopeHead(msgspec.Struct, array_like=True):
    """The first fields of the session layer's `Envelope` (the rest of the array is ignored)."""

    version: int
    kind: int
    session: str
    protocol: str
    sender: str
    receiver: str


SIGNED = msgspec.msgpack.Decoder(SignedFrame)
HEAD = msgspec.msgpack.Decoder(EnvelopeHead)


def _token(text: str) -> str:
    """`text` as one subject token: safe characters kept, the rest (and `~`) escaped as `~XX`."""
    out = [c if _SAFE.fullmatch(c) else "".join(f"~{b:02x}" for b in c.encode()) for c in text]
    return "".join(out) or "~"


@functools.lru_cache(maxsize=4096)  # computed for every frame sent and received
def subject_for(protocol_hash: str, session: str, role: str) -> str:
    """The subject a role of a session receives on: one per (protocol hash, session, receiving role)."""
    return f"aura.{_token(protocol_hash)}.{_token(session)}.{_token(role)}"


MAX_SUBJECT = 4000
"""The longest subject used: a NATS server closes the connection of a client whose SUB or PUB line is
over its `max_control_line` (4096 bytes by default), ending every session that shares it."""


def subject_too_long(protocol_hash: str, session: str, roles: Iterable[str]) -> str | None:
    """Why a session's subjects are too long for a NATS server (a session id, escaped, can be 9x its
    length in characters), or None."""
    longest = max((len(subject_for(protocol_hash, session, role)) for role in roles), default=0)
    if longest <= MAX_SUBJECT:
        return None
    return (
        f"session id `{session[:40]}...` ({len(session)} characters) makes a NATS subject {longest} bytes "
        f"long, over the {MAX_SUBJECT} a NATS server accepts: pass a shorter --session"
    )


Signer = Callable[[bytes], bytes]
Verifier = Callable[[bytes, bytes], bool]
"""(signature, data) -> whether the signature is sound; never raises."""


def frame_signer(identity: Identity) -> Signer:
    """A function signing data with `identity`'s key (libsodium when installed, see the module doc)."""
    if SODIUM is None:
        return identity.sign
    sodium = SODIUM[0]
    seed = identity.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    _public, secret = sodium.crypto_sign_seed_keypair(seed)
    crypto_sign = sodium.crypto_sign

    def sign(data: bytes) -> bytes:
        signature: bytes = crypto_sign(data, secret)[:64]  # libsodium returns the signature + the data
        return signature

    return sign


def frame_verifier(public_key: bytes) -> Verifier:
    """A function checking signatures by `public_key` (libsodium when installed, see the module doc)."""
    if SODIUM is None or len(public_key) != 32:
        return functools.partial(verify_signature, public_key)
    crypto_sign_open, error = SODIUM[0].crypto_sign_open, SODIUM[1]

    def verify(signature: bytes, data: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            crypto_sign_open(signature + data, public_key)
        except error:
            return False
        return True

    return verify


def signed_bytes(subject: str, device: str, counter: int, frame: bytes) -> bytes:
    """What the sender signs: everything the broker could otherwise change or reuse."""
    return b"".join((_signed_prefix(subject, device), counter.to_bytes(8, "big"), frame))


@functools.lru_cache(maxsize=4096)  # one per (subject, device): built for every frame sent and received
def _signed_prefix(subject: str, device: str) -> bytes:
    return b"".join((_DOMAIN, subject.encode(), b"\x00", device.encode(), b"\x00"))


class Hello(msgspec.Struct, array_like=True, frozen=True):
    """Presence on a session, published (signed like a frame) to each peer device's subject until it
    answers: proves the peer is subscribed, and which protocol hash it runs."""

    tag: str
    protocol_hash: str
    session: str
    wants_reply: bool
    instance: bytes = b""
    """The sender transport's (process's) random token (see `Instances`)."""
    refused: str = ""
    """An answer refusing the asker this session, with the reason (its process is not the one here)."""


HELLO = msgspec.msgpack.Decoder(Hello)


def hello_frame(
    protocol_hash: str, session: str, wants_reply: bool, instance: bytes = b"", refused: str = ""
) -> bytes:
    return msgspec.msgpack.encode(Hello("hello", protocol_hash, session, wants_reply, instance, refused))


class Instances:
    """Which process (instance) of each peer device a session is with, as `net.handshake` keeps it for
    the point-to-point carriers: a restarted process numbers its frames from 1 again, so once the
    first process of a device spoke in a session (its frames used up sequence numbers), a HELLO from
    another process of that device there is a restart, refused; before that it may replace it."""

    def __init__(self) -> None:
        self._first: dict[str, dict[str, bytes]] = {}
        """session -> device -> the instance the session is with."""
        self._spoke: dict[str, set[str]] = {}
        """session -> devices whose frames reached the session layer there."""

    def spoke(self, device: str, session: str) -> None:
        self._spoke.setdefault(session, set()).add(device)

    def restart(self, device: str, session: str, instance: bytes) -> str | None:
        """Why `instance` of `device` may not have `session` (None: it may, and is now the one)."""
        first = self._first.setdefault(session, {})
        earlier = first.get(device)
        if earlier and instance and earlier != instance and device in self._spoke.get(session, ()):
            return (
                f"device {device} restarted mid-session {session[:64]}: its new process's frames cannot "
                "be told from those its earlier process sent; run the roles again under a new --session id"
            )
        if instance:
            first[device] = instance
        return None

    def forget(self, session: str) -> None:
        self._first.pop(session, None)
        self._spoke.pop(session, None)


def refused_by(device: str, session: str, reason: str) -> HandshakeRefused:
    """What a process raises when `device` answered its HELLO refusing it `session` (`Instances`)."""
    return HandshakeRefused("peer-restarted", f"refused by {device}: {reason[:500]}", session=session)


def session_pattern(session: str, role: str) -> str:
    """Every protocol hash's subject of (session, role): a peer on another protocol is seen, not missed."""
    return f"aura.*.{_token(session)}.{_token(role)}"


@dataclass(frozen=True)
class Verified:
    """A sound message: a session-layer frame (`hello` None) or a presence `Hello`."""

    device: str
    frame: bytes
    hello: Hello | None = None


@dataclass(frozen=True)
class Rejected:
    device: str
    reason: str


class FrameVerifier:
    """The receiver's checks on what the broker hands it, before the session layer sees anything.

    Signature by the pinned key of the named device over the subject it arrived on; a counter within
    `max_skew` of `now_ns` and above the last one accepted from that device on that subject; a device
    of the session; an envelope only on this protocol's subject and naming this session, this receiving
    role and a sender role of that device.

    Counters are the sender's wall clock in nanoseconds, so a sender that restarts continues above its
    old values, and a frame recorded in an earlier run of the same session id is refused once it is
    `max_skew` old (NATS keeps nothing for later subscribers: no genuine frame arrives that late).
    Within those seconds a new process of the same session id could be fed such a frame; closing that
    needs a nonce from every receiver in every frame, a handshake the broker design avoids.
    """

    def __init__(self, directory: Mapping[str, bytes], max_skew: float) -> None:
        self.directory = directory
        self.max_skew_ns = int(max_skew * 1e9)
        self.last: dict[tuple[str, str], int] = {}
        self._verifiers: dict[bytes, Verifier] = {}

    def check(
        self, binding: SessionBinding, role: str, subject: str, data: bytes, now_ns: int
    ) -> Verified | Rejected:
        try:
            signed = SIGNED.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return Rejected("?", "not a signed frame")
        device = signed.device
        key = self.directory.get(device)
        if signed.version != VERSION:
            return Rejected(device, f"unknown frame version {signed.version}")
        if key is None:
            return Rejected(device, "a device with no public key in the policy")
        verify = self._verifiers.get(key)
        if verify is None:
            verify = self._verifiers[key] = frame_verifier(key)
        if not verify(signed.signature, signed_bytes(subject, device, signed.counter, signed.frame)):
            return Rejected(device, "bad signature (forged or redirected)")
        if abs(now_ns - signed.counter) > self.max_skew_ns:
            return Rejected(device, "stale counter (replayed?)")
        if signed.counter <= self.last.get((device, subject), 0):
            return Rejected(device, "counter not fresher than the last accepted (replayed)")
        try:
            head = HEAD.decode(signed.frame)
        except (msgspec.DecodeError, msgspec.ValidationError):
            if device not in binding.devices():  # (an envelope's sender role says it, below)
                return Rejected(device, f"a device with no role in session {binding.session}")
            try:
                hello = HELLO.decode(signed.frame)
            except (msgspec.DecodeError, msgspec.ValidationError):
                return Rejected(device, "signed, but neither an envelope nor a hello")
            if hello.tag != "hello" or hello.session != binding.session:
                return Rejected(device, "a hello for another session")
            self.last[(device, subject)] = signed.counter
            return Verified(device, signed.frame, hello)
        if subject != subject_for(binding.protocol_hash, binding.session, role):
            return Rejected(device, "an envelope on another protocol's subject")
        if binding.roles.get(head.sender) != device:  # also: a device of the session
            if device not in binding.devices():
                return Rejected(device, f"a device with no role in session {binding.session}")
            return Rejected(device, f"envelope {head.sender}->{head.receiver} is not for it")
        if head.session != binding.session or head.receiver != role:
            return Rejected(device, f"envelope {head.sender}->{head.receiver} is not for it")
        self.last[(device, subject)] = signed.counter
        return Verified(device, signed.frame)

    def forget(self, subjects: Iterable[str]) -> None:
        """Drop the counters of a finished session's subjects."""
        done = set(subjects)
        self.last = {k: v for k, v in self.last.items() if k[1] not in done}
