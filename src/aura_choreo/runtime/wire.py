"""The wire format (SPEC §5.1): a versioned envelope, MessagePack via msgspec, integers of any size.

A frame is one encoded `Envelope`. Its payload is the message struct encoded on its own (`Raw`), so
the envelope can be decoded and routed before the payload is checked against the receiving step's
type. Integers beyond 64 bits travel as MessagePack extension type `BIGINT_EXT` (two's complement,
big-endian); the envelope's `big` flag tells the receiver to decode through that path.

Versions. The envelope is a MessagePack array; fields are only ever added at its end, with defaults.
- 1: version .. big (13 fields).
- 2: adds `deadline_ms` (SPEC §8.6): the time the sender's caller had left, in whole milliseconds,
  when the frame was built (None: no deadline). It is relative, like gRPC's `grpc-timeout`, so the two
  devices' clocks need not agree; the receiver adds it to its own clock at arrival (the transit time
  is not subtracted). A version-1 frame decodes with `deadline_ms = None`, so old frames are still
  read (`READABLE_VERSIONS`); a version-1 reader skips the trailing field but refuses the version.
- 3: adds `ack`: on a data or control frame, the cumulative acknowledgement of the reverse channel
  (same session, receiver -> sender) the sending node owed (0: none), so a reply carries the ack of
  the request and no ack frame is needed (`runtime.node_channels`). Versions 1 and 2 decode with
  `ack = 0`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

WIRE_VERSION = 3
READABLE_VERSIONS = frozenset({1, 2, 3})
"""Envelope versions a receiver accepts: every version whose fields are a prefix of the current ones."""
KIND_DATA = 0
KIND_ACK = 1
KIND_CONTROL = 2
BIGINT_EXT = 1

_T = TypeVar("_T")

_INT64_MIN = -(1 << 63)
_UINT64_MAX = (1 << 64) - 1


class Envelope(msgspec.Struct, array_like=True, gc=False):
    """One frame on the wire. `seq` counts per (session, sender, receiver) from 1."""

    version: int
    kind: int
    session: str
    protocol: str
    sender: str
    receiver: str
    label: str
    seq: int
    payload: msgspec.Raw
    receipt: bytes | None = None
    journal: bytes | None = None
    ext: dict[str, bytes] | None = None
    big: bool = False
    deadline_ms: int | None = None
    ack: int = 0


class OutgoingEnvelope(msgspec.Struct, array_like=True, gc=False):
    """The sender's view of `Envelope`: the same layout, with the payload still a message object, so
    envelope and payload are encoded in one pass (the receiver decodes the payload as `Raw`)."""

    version: int
    kind: int
    session: str
    protocol: str
    sender: str
    receiver: str
    label: str
    seq: int
    payload: Any
    receipt: bytes | None = None
    journal: bytes | None = None
    ext: dict[str, bytes] | None = None
    big: bool = False
    deadline_ms: int | None = None
    ack: int = 0


class _BigInt:
    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value


def _enc_hook(value: Any) -> Any:
    if isinstance(value, _BigInt):
        n = value.value
        return msgspec.msgpack.Ext(BIGINT_EXT, n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True))
    raise TypeError(f"cannot encode a {type(value).__name__}")


def _ext_hook(code: int, data: memoryview) -> Any:
    if code == BIGINT_EXT:
        return int.from_bytes(data, "big", signed=True)
    raise msgspec.DecodeError(f"unknown extension type {code}")


_ENCODER = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
ENVELOPE_DECODER = msgspec.msgpack.Decoder(Envelope)
"""Decodes a frame into its `Envelope` (`decode_envelope` wraps it)."""
_ANY_DECODER = msgspec.msgpack.Decoder(ext_hook=_ext_hook)
NIL = msgspec.Raw(_ENCODER.encode(None))

WireError = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)
"""What a bad frame or payload raises while decoding. msgspec bounds nesting by the interpreter's
recursion limit and raises `RecursionError` beyond it, so a 1 KB frame of nested arrays is an error to
catch like any other malformed input, not a crash (see `MAX_RECURSION` for the bound itself)."""

MAX_RECURSION = 4000
"""The recursion limit every decode here runs under, at most. msgspec's nesting bound is the
interpreter's recursion limit: an application that raises that limit (to 10**6, say) would otherwise
let a 200 KB frame of nested arrays overflow the C stack and kill the process. A decode under a higher
limit lowers it to this for the call and restores it after (the limit is per interpreter: a thread
recursing deeply during that call would see the lower limit too)."""

_recursion_limit = sys.getrecursionlimit


def _bounded(decode: Callable[[Any], _T], data: Any) -> _T:
    limit = _recursion_limit()
    if limit <= MAX_RECURSION:
        return decode(data)
    try:
        sys.setrecursionlimit(MAX_RECURSION)
    except RecursionError:
        raise msgspec.DecodeError("called too deep in the stack to decode safely") from None
    try:
        return decode(data)
    finally:
        sys.setrecursionlimit(limit)


def _wrap_big(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return _BigInt(value) if value < _INT64_MIN or value > _UINT64_MAX else value
    if isinstance(value, list | tuple):
        return [_wrap_big(v) for v in value]
    if isinstance(value, dict):
        return {_wrap_big(k): _wrap_big(v) for k, v in value.items()}
    return value


def encode_payload(message: object) -> tuple[bytes, bool]:
    """Encode a message; returns (bytes, whether integers beyond 64 bits needed the extension type)."""
    try:
        return _ENCODER.encode(message), False
    except OverflowError:
        return _ENCODER.encode(_wrap_big(msgspec.to_builtins(message, enc_hook=_enc_hook))), True


def payload_decoder(cls: type[msgspec.Struct]) -> msgspec.msgpack.Decoder[Any]:
    """A typed decoder for one message class."""
    return msgspec.msgpack.Decoder(cls)


def decode_payload(
    decoder: msgspec.msgpack.Decoder[Any], cls: type[msgspec.Struct], data: bytes | msgspec.Raw, big: bool
) -> Any:
    """Decode and type-check a payload; raises one of `WireError` when it does not fit."""
    if not big:
        return decoder.decode(data) if _recursion_limit() <= MAX_RECURSION else _bounded(decoder.decode, data)
    return msgspec.convert(_bounded(_ANY_DECODER.decode, data), cls)


encode_envelope = _ENCODER.encode
"""The frame for an envelope."""


def decode_envelope(frame: bytes) -> Envelope:
    """The envelope in a frame; raises one of `WireError` for garbage."""
    if _recursion_limit() <= MAX_RECURSION:
        return ENVELOPE_DECODER.decode(frame)  # the common case, without a call frame more
    return _bounded(ENVELOPE_DECODER.decode, frame)


def encode_value(value: object) -> bytes:
    """Encode any plain value (control-message payloads)."""
    return _ENCODER.encode(value)


def decode_value(data: bytes | msgspec.Raw) -> Any:
    """Decode any plain value."""
    return _bounded(_ANY_DECODER.decode, data)
