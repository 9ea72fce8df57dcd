"""The CRDT byte format, shared by every type (SPEC §8.1).

A serialised CRDT is one MessagePack array `[magic, version, kind, body]`:

- `magic`: the string `"aura.crdt"`; `version`: the integer `1` (bumped when a body changes shape);
- `kind`: the type's name (`"GCounter"`, `"ORSet"`, ...);
- `body`: the type's fields as plain MessagePack values, each list in canonical (sorted) order, so
  equal values always give equal bytes. Each type's body is documented on its `_body` method.

Decoding is a trust boundary (bytes come from peers): anything malformed (not MessagePack, a wrong
magic or version, a wrong shape, a count that is not a positive integer, inputs past `MAX_BYTES`)
raises `CrdtDecodeError`, never another exception.

The other direction is the value rule below: what each operation accepts (a replica id, a register
value, a set element, a counter amount, a timestamp) is checked by the same predicates the decoder
uses, before anything changes, so everything an operation accepts round-trips through the format.
A refused value raises `CrdtValueError` naming it and what is allowed. Size is part of the rule:
an operation whose new value would encode past `MAX_BYTES` is refused with `CrdtSizeError` (see
`Crdt._apply`), and `pack` refuses to write such bytes, since no peer's decoder would take them.
"""

from __future__ import annotations

import reprlib
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

MIN_INT = -(2**63)
MAX_UINT = 2**64 - 1
"""MessagePack carries integers from `MIN_INT` to `MAX_UINT` only."""

_ENCODER = msgspec.msgpack.Encoder()


class CrdtDecodeError(AuraChoreoError):
    """Bytes that are not a valid serialised CRDT (of the expected type)."""


class CrdtValueError(AuraChoreoError, ValueError):
    """A value a CRDT operation refuses because its byte format could not carry it back (the
    operation changed nothing). A `ValueError`, as the counters' amount check always raised."""


class CrdtSizeError(CrdtValueError):
    """An operation, or a join with what a peer sent (`Crdt.merge_within_limit`), refused because the
    value it would make encodes past `MAX_BYTES` (which no `from_bytes` takes: the replica could never
    sync again), or bytes `pack` will not write for that reason. The refused step changed nothing."""


class CrdtMergeError(AuraChoreoError):
    """Two values that cannot be joined (different CRDT types under one map key)."""


def encode_value(value: object) -> bytes:
    """MessagePack bytes of a plain value (used for canonical ordering and tie-breaks)."""
    return _ENCODER.encode(value)


def sort_key(value: object) -> bytes:
    return _ENCODER.encode(value)


def pack(kind: str, body: object) -> bytes:
    """The bytes of a `kind` value with this `body`; `CrdtSizeError` past `MAX_BYTES` (a peer's
    `unpack` would refuse them: better said here, where the value is, than by every peer)."""
    data = _ENCODER.encode([MAGIC, FORMAT_VERSION, kind, body])
    if len(data) > MAX_BYTES:
        raise too_large(kind, len(data))
    return data


def packed_size(kind: str, body: object) -> int:
    """How many bytes `pack(kind, body)` writes (measured even past `MAX_BYTES`)."""
    return len(_ENCODER.encode([MAGIC, FORMAT_VERSION, kind, body]))


def too_large(kind: str, size: int, what: str = "value") -> CrdtSizeError:
    return CrdtSizeError(
        f"{kind}: the {what} would encode to {size} bytes, past the byte format's limit of {MAX_BYTES} "
        "(no replica could decode it); split the data over several CRDTs, or collect removed entries"
    )


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


# The value rule, one predicate per kind of value, shared by the decoder (`as_*`) and the operations
# (`*_arg`). Exact types: a subclass (bool for int, an enum, a str subclass) would come back as its
# base type or not encode at all, and a float is left out (see `Value`).
_MIB = f"{MAX_BYTES >> 20} MiB"
ELEMENT_RULE = f"str (valid UTF-8), int (-2**63..2**64-1) or bytes, each at most {_MIB}"
VALUE_RULE = f"None, bool, {ELEMENT_RULE}"
TEXT_RULE = f"str (valid UTF-8, at most {_MIB})"


def is_text(raw: object) -> bool:
    if type(raw) is not str:
        return False
    try:
        return len(raw.encode("utf-8")) <= MAX_BYTES  # lone surrogates do not encode
    except UnicodeEncodeError:
        return False


def is_element(raw: object) -> bool:
    kind = type(raw)
    if kind is int:
        return MIN_INT <= raw <= MAX_UINT  # type: ignore[operator]
    if kind is bytes:
        return len(raw) <= MAX_BYTES  # type: ignore[arg-type]
    return is_text(raw)


def is_value(raw: object) -> bool:
    return raw is None or type(raw) is bool or is_element(raw)


def as_value(raw: object, what: str) -> Value:
    if is_value(raw):
        return raw  # type: ignore[return-value]
    raise CrdtDecodeError(f"{what}: expected {VALUE_RULE}")


def as_element(raw: object, what: str) -> Element:
    if is_element(raw):
        return raw  # type: ignore[return-value]
    raise CrdtDecodeError(f"{what}: expected {ELEMENT_RULE}")


def _refuse(kind: str, what: str, raw: object, allowed: str) -> CrdtValueError:
    return CrdtValueError(f"{kind}: {what} {reprlib.repr(raw)} refused: the byte format holds {allowed}")


def text_arg(raw: object, kind: str, what: str = "replica") -> str:
    """A replica id or map key an operation was given (`CrdtValueError` unless the format holds it)."""
    if not is_text(raw):
        raise _refuse(kind, what, raw, TEXT_RULE)
    return raw  # type: ignore[return-value]


def element_arg(raw: object, kind: str) -> Element:
    """A set element an operation was given."""
    if not is_element(raw):
        raise _refuse(kind, "element", raw, ELEMENT_RULE)
    return raw  # type: ignore[return-value]


def value_arg(raw: object, kind: str) -> Value:
    """A register value an operation was given."""
    if not is_value(raw):
        raise _refuse(kind, "value", raw, VALUE_RULE)
    return raw  # type: ignore[return-value]


def count_arg(raw: object, kind: str, what: str, *, minimum: int, used: int = 0) -> int:
    """An integer an operation was given (an amount, a timestamp): at least `minimum`, and `used +
    raw` (what it adds to) still within `MAX_UINT`."""
    if type(raw) is not int or not minimum <= raw <= MAX_UINT - used:
        at = f" (it adds to {used})" if used else ""
        raise _refuse(kind, what, raw, f"an int from {minimum} to {MAX_UINT - used} here{at}")
    return raw


def as_pair(raw: object, what: str) -> tuple[object, object]:
    items = as_list(raw, what)
    if len(items) != 2:
        raise CrdtDecodeError(f"{what}: expected a pair")
    return items[0], items[1]
