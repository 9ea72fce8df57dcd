"""The payload size model: how many bytes a message's payload is taken to weigh.

The sizes are those of the MessagePack encoding the runtime puts on the wire, for a typical value:
- fixed-width numbers: their width (`u8`/`i8` 1, `u16`/`i16` 2, `u32`/`i32`/`f32` 4, `u64`/`i64`/`f64`/
  `usize`/`int`/`float` 8, `u128`/`i128` 16) plus a 1-byte MessagePack tag; `bool` 1;
- strings (`String`, `str`, `&str`): `STRING_BYTES` (a short identifier-sized text) plus a 1-byte tag;
- byte strings (`Vec<u8>`, `bytes`): `BYTES_BYTES`;
- collections (`Vec<T>`, `list[T]`, sets): a 3-byte header plus `COLLECTION_ITEMS` elements of T;
  maps: header plus `COLLECTION_ITEMS` pairs; `Option<T>`/`T | None`: T (the worst case); tuples: the sum;
- `Result<T, E>` the larger of T and E; any other named type (a user struct): `OPAQUE_BYTES`;
- a field with no type (`Label(name)`): `UNTYPED_BYTES`.
Each named field adds its name as a map key (MessagePack fixstr: length + 1). The envelope (session,
sequence number, label) is not counted: these are *payload* bytes.
"""

from __future__ import annotations

from aura_choreo.projection.local_types import Payload
from aura_choreo.syntax.ast import TypeExpr, TypeRef, UnionType

STRING_BYTES = 16
BYTES_BYTES = 64
COLLECTION_ITEMS = 4
OPAQUE_BYTES = 64
UNTYPED_BYTES = 16

_FIXED = {
    **dict.fromkeys(["u8", "i8"], 2),
    **dict.fromkeys(["u16", "i16"], 3),
    **dict.fromkeys(["u32", "i32", "f32"], 5),
    **dict.fromkeys(["u64", "i64", "f64", "usize", "isize", "int", "float", "Duration", "Instant"], 9),
    **dict.fromkeys(["u128", "i128"], 17),
    **dict.fromkeys(["bool", "()", "None"], 1),
    **dict.fromkeys(["String", "str", "&str", "char"], STRING_BYTES + 1),
    **dict.fromkeys(["bytes", "bytearray", "Bytes"], BYTES_BYTES + 2),
}
_SEQUENCES = {"Vec", "VecDeque", "list", "List", "Set", "set", "HashSet", "BTreeSet", "frozenset", "tuple"}
_MAPS = {"HashMap", "BTreeMap", "dict", "Dict", "Map"}
_WRAPPERS = {"Option", "Optional", "Box", "Arc", "Rc"}


def type_bytes(type_: TypeExpr | None) -> int:
    """The modelled encoded size of one value of `type_`."""
    if type_ is None:
        return UNTYPED_BYTES
    if isinstance(type_, UnionType):
        return max(type_bytes(o) for o in type_.options)
    return _ref_bytes(type_)


def _ref_bytes(ref: TypeRef) -> int:
    name = ref.name.rsplit("::", 1)[-1].rsplit(".", 1)[-1]
    if name in _FIXED and not ref.args:
        return _FIXED[name]
    if name in ("Vec", "list") and ref.args and _is_byte(ref.args[0]):
        return BYTES_BYTES + 2
    if name in _WRAPPERS and ref.args:
        return type_bytes(ref.args[0])
    if name == "Result" and ref.args:
        return 1 + max(type_bytes(a) for a in ref.args)
    if name in _MAPS:
        pair = sum(type_bytes(a) for a in ref.args[:2]) if len(ref.args) >= 2 else 2 * UNTYPED_BYTES
        return 3 + COLLECTION_ITEMS * pair
    if name in _SEQUENCES:
        if name == "tuple" and ref.args:
            return 1 + sum(type_bytes(a) for a in ref.args)
        item = type_bytes(ref.args[0]) if ref.args else UNTYPED_BYTES
        return 3 + COLLECTION_ITEMS * item
    if name in _FIXED:
        return _FIXED[name]
    return OPAQUE_BYTES


def _is_byte(type_: TypeExpr) -> bool:
    return isinstance(type_, TypeRef) and type_.name in ("u8", "i8") and not type_.args


def payload_bytes(payload: Payload) -> int:
    """The modelled size of a payload: the sum of its fields, each named one with its key."""
    total = 0
    for item in payload:
        total += type_bytes(item.type)
        if item.name:
            total += len(item.name.encode("utf-8")) + 1
    return total
