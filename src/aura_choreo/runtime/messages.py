"""Message classes generated from payload declarations, and their run-time type checks (SPEC §1.4).

Each (label, payload) pair gets one msgspec Struct class named after the label, with one field per
payload item: `name: Type` keeps its name; a bare `Type` or bare `name` gets `value` (or `value0`,
`value1`, ... when there are several). Types map to Python as SPEC §1.4 says; a user type is looked
up in the `UserTypes` registry, otherwise it is carried opaquely (`Any`).

Sends are checked with precompiled predicates (deep, so `list[int]` checks its items); receipts are
checked by msgspec while decoding. The classes of one protocol are kept by `catalog.MessageCatalog`.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec

from aura_choreo.projection.local_types import (
    Payload,
)
from aura_choreo.syntax.ast import TypeExpr, TypeRef, UnionType

INT_NAMES = frozenset(
    "u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize int integer Int Integer BigInt".split()
)
FLOAT_NAMES = frozenset({"f32", "f64", "float", "Float", "double"})
STR_NAMES = frozenset({"String", "str", "&str", "string", "Str", "char"})
BOOL_NAMES = frozenset({"bool", "Bool", "boolean"})
BYTES_NAMES = frozenset({"bytes", "Bytes", "ByteBuf", "bytearray"})
LIST_NAMES = frozenset({"Vec", "list", "List", "VecDeque", "HashSet", "BTreeSet", "set", "Set", "tuple"})
MAP_NAMES = frozenset({"HashMap", "BTreeMap", "dict", "Dict", "Map", "IndexMap"})
OPTION_NAMES = frozenset({"Option", "Optional"})
NONE_NAMES = frozenset({"None", "()", "unit"})
INT_RANGES: dict[str, tuple[int, int]] = {
    **{f"u{bits}": (0, (1 << bits) - 1) for bits in (8, 16, 32, 64, 128)},
    **{f"i{bits}": (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) for bits in (8, 16, 32, 64, 128)},
    "usize": (0, (1 << 64) - 1),
    "isize": (-(1 << 63), (1 << 63) - 1),
}
"""The values of each sized integer type (SPEC §1.4); `int` and the other unsized names are unbounded."""

Check = Callable[[object], bool]


@dataclass
class UserTypes:
    """A registry of user classes (dataclasses, msgspec Structs) by type name (`Vote`, `my::Vote`)."""

    _classes: dict[str, type] = field(default_factory=dict)

    def register(self, cls: type, name: str | None = None) -> type:
        """Register `cls` under `name` (default: its class name); usable as a class decorator.

        The class must be something msgspec can encode and check: a dataclass, a msgspec Struct, an
        enum, an attrs class, a TypedDict or a NamedTuple (anything else raises TypeError here, not
        in the middle of a session).
        """
        import msgspec.inspect

        if isinstance(msgspec.inspect.type_info(cls), msgspec.inspect.CustomType):
            raise TypeError(
                f"{cls.__name__} cannot travel on the wire: register a dataclass, msgspec Struct, enum, "
                "attrs class, TypedDict or NamedTuple"
            )
        self._classes[name or cls.__name__] = cls
        return cls

    def get(self, name: str) -> type | None:
        """The class registered for a type path, by full name or last segment."""
        return self._classes.get(name) or self._classes.get(name.rsplit("::", 1)[-1])


def label_of(message: object) -> str:
    """The label a message is sent under: a string itself, otherwise its class name."""
    return message if isinstance(message, str) else type(message).__name__


def last_segment(name: str) -> str:
    """`std::vec::Vec` -> `Vec`."""
    return name.rsplit("::", 1)[-1].rsplit(".", 1)[-1]


def python_type(type_expr: TypeExpr | None, user_types: UserTypes | None = None) -> Any:
    """The Python type annotation a declared type maps to (`Any` when opaque)."""
    if type_expr is None:
        return Any
    if isinstance(type_expr, UnionType):
        options = [python_type(o, user_types) for o in type_expr.options]
        if any(o is Any for o in options):
            return Any
        result = options[0]
        for option in options[1:]:
            result = result | option
        return result
    name = last_segment(type_expr.name)
    args = type_expr.args
    if name in INT_NAMES:
        return int
    if name in FLOAT_NAMES:
        return float
    if name in STR_NAMES:
        return str
    if name in BOOL_NAMES:
        return bool
    if name in BYTES_NAMES:
        return bytes
    if name in NONE_NAMES:
        return type(None)
    if name in LIST_NAMES:
        if args and _is_u8(args[0]) and name == "Vec":
            return bytes
        item = python_type(args[0], user_types) if args else Any
        return list[item]  # type: ignore[valid-type]
    if name in MAP_NAMES:
        key = python_type(args[0], user_types) if args else Any
        value = python_type(args[1], user_types) if len(args) > 1 else Any
        if key not in (str, int):
            key = Any  # MessagePack maps need hashable keys; anything else travels untyped
        return dict[key, value]  # type: ignore[valid-type]
    if name in OPTION_NAMES:
        inner = python_type(args[0], user_types) if args else Any
        return Any if inner is Any else inner | None
    if user_types is not None:
        cls = user_types.get(type_expr.name)
        if cls is not None:
            return cls
    return Any


def _is_u8(type_expr: TypeExpr) -> bool:
    return isinstance(type_expr, TypeRef) and type_expr.name == "u8"


def checker(annotation: Any) -> Check | None:
    """A predicate checking a value against a mapped type; None when anything goes."""
    if annotation is Any:
        return None
    if annotation is int:
        return lambda v: type(v) is int
    if annotation is float:
        return lambda v: type(v) is float or type(v) is int
    if annotation in (str, bool, bytes):
        exact = annotation
        return lambda v: type(v) is exact
    if annotation is type(None):
        return lambda v: v is None
    origin = getattr(annotation, "__origin__", None)
    args: tuple[Any, ...] = tuple(getattr(annotation, "__args__", ()))
    if origin is list:
        item = checker(args[0]) if args else None
        if item is None:
            return lambda v: isinstance(v, list)
        return lambda v: isinstance(v, list) and all(item(x) for x in v)
    if origin is dict:
        key = checker(args[0]) if args else None
        value = checker(args[1]) if len(args) > 1 else None
        return lambda v: isinstance(v, dict) and all(
            (key is None or key(k)) and (value is None or value(x)) for k, x in v.items()
        )
    if args and origin is None:  # a union (`int | None`)
        options = [checker(a) for a in args]
        if any(o is None for o in options):
            return None
        checks = [o for o in options if o is not None]
        return lambda v: any(c(v) for c in checks)
    if isinstance(annotation, type):
        cls = annotation
        return lambda v: isinstance(v, cls)
    return None


def field_names(payload: Payload) -> tuple[str, ...]:
    """The struct field name of each payload item."""
    bare = sum(1 for item in payload if item.name is None)
    names: list[str] = []
    counter = 0
    for item in payload:
        if item.name is not None:
            names.append(item.name + "_" if keyword.iskeyword(item.name) else item.name)
        elif bare == 1:
            names.append("value")
        else:
            names.append(f"value{counter}")
            counter += 1
    return tuple(names)


@dataclass(frozen=True)
class MessageSpec:
    """Everything the runtime needs about one message kind: class, field checks, decoder."""

    label: str
    payload: Payload
    cls: type[msgspec.Struct]
    fields: tuple[str, ...]
    types: tuple[Any, ...]
    checks: tuple[tuple[str, Check], ...]
    """Predicates for the fields whose type needs more than an exact-type test."""
    decoder: msgspec.msgpack.Decoder[Any]
    exact: tuple[tuple[str, type], ...] = ()
    """Fields whose value must be of exactly this type (`int`, `str`, `bool`, `bytes`): the hot path."""
    binds: tuple[tuple[str, str], ...] = ()
    """(variable, field) for each named payload item: what a send or receipt makes known (SPEC §3.6)."""
    int_fields: frozenset[str] = frozenset()
    """Fields of a sized integer type (`u64`, `i8`...), range-checked on send and on receipt."""
    valid: Callable[[Any], bool] | None = None
    """`exact` and `checks` as one predicate over the message (True: no `bad_fields`); None when
    there is nothing to check. What a send calls."""
    bind_sent: Callable[[Any, dict[str, object]], None] | None = None
    """`binds` done on a sent message: `bind_sent(message, env)` (None: nothing to bind)."""
    bind_received: Callable[[Any, dict[str, object], dict[str, object]], None] | None = None
    """`binds` done on a received one: `bind_received(message, env, received)`, both dicts."""

    def bad_fields(self, message: msgspec.Struct) -> list[str]:
        """Fields of `message` whose value does not have the declared type (empty when fine)."""
        bad: list[str] = []
        for name, kind in self.exact:
            if type(getattr(message, name)) is not kind:
                bad.append(f"{name}: {type(getattr(message, name)).__name__}")
        for name, check in self.checks:
            value = getattr(message, name)
            if not check(value):
                if type(value) is int and name in self.int_fields:
                    bad.append(f"{name}: {value} out of range")
                else:
                    bad.append(f"{name}: {type(value).__name__}")
        return bad

    def mismatch(self, message: object) -> str:
        """Why `message` cannot be this message, naming the fields (for a `ProtocolViolation`)."""
        if isinstance(message, Mapping):
            given = [str(key) for key in message]
            missing = [f"`{f}`" for f in self.fields if f not in message]
            unknown = [f"`{k}`" for k in given if k not in self.fields]
            problems = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unknown {', '.join(unknown)}"] if unknown else []
            )
            why = f" ({'; '.join(problems)})" if problems else ""
            return f"{self.label} with fields {{{', '.join(given)}}}{why}"
        if isinstance(message, tuple):
            return f"{self.label} with {len(message)} values for the fields {', '.join(self.fields)}"
        return f"a {type(message).__name__} for {self.label} (fields: {', '.join(self.fields) or 'none'})"

    def signature(self) -> str:
        """`Label(name: Type, ...)` as declared."""
        if not self.payload:
            return self.label
        parts = []
        for item, name in zip(self.payload, self.fields, strict=True):
            parts.append(f"{name}: {item.type}" if item.type is not None else name)
        return f"{self.label}({', '.join(parts)})"


def build_spec(label: str, payload: Payload, user_types: UserTypes | None = None) -> MessageSpec:
    """Generate the message class and checks for one (label, payload)."""
    names = field_names(payload)
    types = tuple(python_type(item.type, user_types) for item in payload)
    ranges = {
        n: INT_RANGES[last_segment(item.type.name)]
        for n, item, t in zip(names, payload, types, strict=True)
        if t is int and isinstance(item.type, TypeRef) and last_segment(item.type.name) in INT_RANGES
    }
    declared = [(n, _bounded(t, ranges.get(n))) for n, t in zip(names, types, strict=True)]
    cls = msgspec.defstruct(_class_name(label), declared, array_like=True)
    exact = tuple((n, t) for n, t in zip(names, types, strict=True) if t in _EXACT and n not in ranges)
    checks = tuple(
        (n, c)
        for n, t in zip(names, types, strict=True)
        if (t not in _EXACT or n in ranges) and (c := _range_check(ranges[n]) if n in ranges else checker(t))
    )
    from aura_choreo.runtime.wire import payload_decoder

    binds = tuple((item.name, n) for item, n in zip(payload, names, strict=True) if item.name is not None)
    return MessageSpec(
        label, payload, cls, names, types, checks, payload_decoder(cls), exact, binds, frozenset(ranges),
        compile_valid(exact, checks, ranges), *compile_binds(binds),
    )  # fmt: skip


def compile_binds(binds: tuple[tuple[str, str], ...]) -> tuple[Any, Any]:
    """`MessageSpec.bind_sent` and `bind_received` for `binds`: one statement per bound field, as
    `compile_valid` compiles the checks (every message binds; a loop of `getattr`s cost more).
    Variable names, and field names that are not plain identifiers, are constants, never text."""
    if not binds:
        return None, None
    constants: dict[str, object] = {"getattr": getattr}
    reads = []
    for i, (variable, name) in enumerate(binds):
        constants[f"V{i}"], constants[f"N{i}"] = variable, name
        reads.append(f"m.{name}" if _plain_name(name) else f"getattr(m, N{i})")
    source = "def sent(m, e):\n" + "".join(f"    e[V{i}] = {read}\n" for i, read in enumerate(reads))
    source += "def received(m, e, r):\n"
    source += "".join(f"    e[V{i}] = r[V{i}] = {read}\n" for i, read in enumerate(reads))
    namespace: dict[str, Any] = {"__builtins__": {}, **constants}
    exec(source, namespace)
    return namespace["sent"], namespace["received"]


def compile_valid(
    exact: tuple[tuple[str, type], ...],
    checks: tuple[tuple[str, Check], ...],
    ranges: Mapping[str, tuple[int, int]],
) -> Callable[[Any], bool] | None:
    """One predicate doing what `exact` and `checks` do field by field (`MessageSpec.valid`).

    Every send checks its payload, so the tests are compiled into one expression: an exact type is
    `type(m.f) is T`, a sized integer's range is tested inline, any other check is called. Field names
    are the struct's (identifiers, keywords escaped by `field_names`); the types, bounds and checks
    are the expression's constants, never text. A name that is not a plain ASCII identifier falls
    back to the loops.
    """
    parts: list[str] = []
    constants: dict[str, object] = {}
    for i, (name, kind) in enumerate(exact):
        if not _plain_name(name):
            return _valid_by_loops(exact, checks)
        constants[f"T{i}"] = kind
        parts.append(f"type(m.{name}) is T{i}")
    for i, (name, check) in enumerate(checks):
        if not _plain_name(name):
            return _valid_by_loops(exact, checks)
        if name in ranges:
            constants[f"L{i}"], constants[f"H{i}"] = ranges[name]
            parts.append(f"(type(v := m.{name}) is int and L{i} <= v <= H{i})")
        else:
            constants[f"C{i}"] = check
            parts.append(f"C{i}(m.{name})")
    if not parts:
        return None
    valid: Callable[[Any], bool] = eval(
        f"lambda m: {' and '.join(parts)}", {"__builtins__": {"type": type, "int": int}, **constants}
    )
    return valid


def _plain_name(name: str) -> bool:
    """Whether `m.<name>` in source reads the field `name`: an ASCII identifier, not a keyword (a
    non-ASCII name would be NFKC-normalised by the compiler and could read another attribute)."""
    return name.isascii() and name.isidentifier() and not keyword.iskeyword(name)


def _valid_by_loops(
    exact: tuple[tuple[str, type], ...], checks: tuple[tuple[str, Check], ...]
) -> Callable[[Any], bool]:
    def valid(m: Any) -> bool:
        return all(type(getattr(m, n)) is k for n, k in exact) and all(c(getattr(m, n)) for n, c in checks)

    return valid


def _range_check(bounds: tuple[int, int]) -> Check:
    low, high = bounds
    return lambda v: type(v) is int and low <= v <= high


_INT64 = (-(1 << 63), (1 << 63) - 1)


def _bounded(annotation: Any, bounds: tuple[int, int] | None) -> Any:
    """The field's type for decoding: a sized integer carries its range (as far as msgspec can check
    it, within 64 bits), so a receipt of -5 for a `u64` fails like any other ill-typed payload."""
    if bounds is None:
        return annotation
    low, high = bounds
    ge = low if _INT64[0] <= low <= _INT64[1] else None
    le = high if _INT64[0] <= high <= _INT64[1] else None
    if ge is None and le is None:
        return annotation
    return Annotated[int, msgspec.Meta(ge=ge, le=le)]


_EXACT = (int, str, bool, bytes)


def _class_name(label: str) -> str:
    name = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in label) or "Message"
    return name if name.isidentifier() else f"M_{name}"


def coerce_message(spec: MessageSpec, message: object) -> msgspec.Struct | None:
    """Turn what user code or a behaviour returned into an instance of `spec.cls` (None if impossible).

    Accepted: an instance of the class; None / the label for an empty payload; a mapping of fields; a
    tuple of field values; a single value when there is one field; any object with the fields as
    attributes (a dataclass or Struct of the user's).
    """
    cls = spec.cls
    if type(message) is cls:
        return message
    if type(message) is dict:  # a behaviour's fields, usually exactly the payload's
        try:
            return cls(**message)
        except TypeError:
            pass  # other keys too (ignored below), or a field missing
    n = len(spec.fields)
    if message is None or (isinstance(message, str) and message == spec.label and n != 1):
        return cls() if n == 0 else None
    if isinstance(message, Mapping):
        try:
            return cls(**{k: message[k] for k in spec.fields if k in message})
        except TypeError:
            return None
    if isinstance(message, tuple) and len(message) == n:
        return cls(*message)
    if n == 1 and not _has_fields(message, spec.fields):
        return cls(message)
    if _has_fields(message, spec.fields):
        return cls(*(getattr(message, f) for f in spec.fields))
    return None


def _has_fields(value: object, names: tuple[str, ...]) -> bool:
    return bool(names) and all(hasattr(value, n) for n in names) and not isinstance(value, str | int | float)
