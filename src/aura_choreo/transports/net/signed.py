"""The frames `nats://` publishes (sans-I/O): subjects, and what a sender signs (see `nats_broker`)."""

from __future__ import annotations

import re

import msgspec

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


def subject_for(protocol_hash: str, session: str, role: str) -> str:
    """The subject a role of a session receives on: one per (protocol hash, session, receiving role)."""
    return f"aura.{_token(protocol_hash)}.{_token(session)}.{_token(role)}"


def signed_bytes(subject: str, device: str, counter: int, frame: bytes) -> bytes:
    """What the sender signs: everything the broker could otherwise change or reuse."""
    return b"".join(
        (_DOMAIN, subject.encode(), b"\x00", device.encode(), b"\x00", counter.to_bytes(8, "big"), frame)
    )
