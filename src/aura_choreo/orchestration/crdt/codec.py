"""The CRDT byte format, shared by every type (SPEC §8.1).

A serialised CRDT is one MessagePack array `[magic, version, kind, body]`:

- `magic`: the string `"aura.crdt"`; `version`: the integer `1` (bumped when a body changes shape);
- `kind`: the type's name (`"GCounter"`, `"ORSet"`, ...);
- `body`: the type's fields as plain MessagePack values, each list in canonical (sorted) order, so
  equal values always give equal bytes. Each type's body is documented on its `_body` method.

Decoding is a trust boundary (bytes come from peers): anything malformed (not MessagePack, a wrong
magic or version, a wrong shape, a count that is not a positive integer, inputs past `MAX_BYTES`)
raises `CrdtDecodeError`, never another exception.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import msgspec

from aura_choreo.errors import AuraChoreoError

MAGIC = "aura.crdt"
FORMAT_VERSION = 1
MAX_BYTES = 64 * 1024 * 1024
"""The largest encoded CRDT `from_bytes` accepts."""

Value = str | int | bytes | bool | None
"""What a register holds. Floats are left out on purpose: NaN is not equal to itself, so a register
holding it could never compare equal to its own round trip."""

Element = str | int | bytes
"""What a set holds, and what keys a map: hashable, orderable through its encoding, never float."""

_ENCODER = msgspec.msgpack.Encoder()


class CrdtDecodeError(AuraChoreoError):
    """Bytes that are not a valid serialised CRDT (of the expected type)."""


class CrdtMergeError(AuraChoreoError):
    """Two values that cannot be joined (different CRDT types under one map key)."""


def encode_value(value: object) -> bytes:
    """MessagePack bytes of a plain value (used for canonical ordering and tie-breaks)."""
    return _ENCODER.encode(value)


def sort_key(value: object) -> bytes:
    return _ENCODER.encode(value)


def pack(kind: str, body: object) -> bytes:
    return _ENCODER.encode([MAGIC, FORMAT_VERSION, kind, body])


def unpack(data: bytes, expected: str | None = None) -> tuple[str, object]:
    """`(kind, body)` of serialised bytes; `expected` restricts the kind."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CrdtDecodeError(f"expected bytes, got {type(data).__name__}")
    if len(data) > MAX_BYTES:
        raise CrdtDecodeError(f"{len(data)} bytes is past the limit of {MAX_BYTES}")
    try:
        raw = msgspec.msgpack.decode(data)
    except (msgspec.DecodeError, ValueError, RecursionError) as exc:
        raise CrdtDecodeError(f"not a serialised CRDT: {exc}") from None
    if not isinstance(raw, list) or len(raw) != 4 or raw[0] != MAGIC:
        raise CrdtDecodeError("not a serialised CRDT: missing the 'aura.crdt' header")
    if raw[1] != FORMAT_VERSION or isinstance(raw[1], bool):
        raise CrdtDecodeError(
            f"unsupported CRDT format version {raw[1]!r} (this build reads {FORMAT_VERSION})"
        )
    kind = raw[2]
    if not isinstance(kind, str):
        raise CrdtDecodeError("CRDT kind must be a string")
    if expected is not None and kind != expected:
        raise CrdtDecodeError(f"expected a serialised {expected}, got {kind}")
    return kind, raw[3]


T = TypeVar("T")


def checked(decode: Callable[[object], T], body: object, kind: str) -> T:
    """Run a body decoder, turning any shape error into `CrdtDecodeError`."""
    try:
        return decode(body)
    except CrdtDecodeError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        raise CrdtDecodeError(f"malformed {kind} body: {exc}") from None


def as_list(raw: object, what: str) -> list[object]:
    if not isinstance(raw, list):
        raise CrdtDecodeError(f"{what}: expected a list")
    return raw


def as_str(raw: object, what: str) -> str:
    if not isinstance(raw, str):
        raise CrdtDecodeError(f"{what}: expected a string")
    return raw


def as_count(raw: object, what: str, *, minimum: int = 1) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < minimum:
        raise CrdtDecodeError(f"{what}: expected an integer >= {minimum}")
    return raw


def as_int(raw: object, what: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise CrdtDecodeError(f"{what}: expected an integer")
    return raw


def as_value(raw: object, what: str) -> Value:
    if raw is None or isinstance(raw, str | int | bytes | bool):
        return raw
    raise CrdtDecodeError(f"{what}: expected str, int, bytes, bool or nil")


def as_element(raw: object, what: str) -> Element:
    if isinstance(raw, str | int | bytes) and not isinstance(raw, bool):
        return raw
    raise CrdtDecodeError(f"{what}: expected str, int or bytes")


def as_pair(raw: object, what: str) -> tuple[object, object]:
    items = as_list(raw, what)
    if len(items) != 2:
        raise CrdtDecodeError(f"{what}: expected a pair")
    return items[0], items[1]
