"""The AST nodes statements are made of: annotations, role declarations and references, types,
payload fields, messages and participants.

Frozen dataclasses with spans excluded from equality, like the rest of `syntax.ast`, which
re-exports them: import them from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aura_choreo.diagnostics import UNKNOWN_SPAN, Span
from aura_choreo.syntax.expr_nodes import Expr

# ---------------------------------------------------------------- annotations


@dataclass(frozen=True, slots=True)
class Ident:
    """A bare identifier used as an annotation value (`@optimize(inline)`)."""

    name: str


@dataclass(frozen=True, slots=True)
class AnnotationArgs:
    """The argument list of `@key(a, b = 3)`."""

    positional: tuple[AnnotationValue, ...]
    named: tuple[tuple[str, AnnotationValue], ...]


AnnotationValue = int | str | bool | Ident | tuple["AnnotationValue", ...] | AnnotationArgs
"""A value: int, string, bool, identifier, list (a tuple), or an argument list. Flags are `True`."""


@dataclass(frozen=True, slots=True)
class Annotation:
    """One `key = value` annotation."""

    key: str
    value: AnnotationValue
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


Annotations = tuple[Annotation, ...]


# ---------------------------------------------------------------- roles, types, messages


@dataclass(frozen=True, slots=True)
class RoleDecl:
    """`A`, `Workers[3]`, `Followers[N]`, `Signers[*]`: size is None (plain), an int, a parameter, or `*`."""

    name: str
    size: int | str | None = None
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)

    @property
    def is_family(self) -> bool:
        return self.size is not None


@dataclass(frozen=True, slots=True)
class IndexAll:
    """`R[*]`: every instance."""


@dataclass(frozen=True, slots=True)
class IndexValue:
    """`R[0]` (an int) or `R[i]` (an index variable or parameter name)."""

    value: int | str


@dataclass(frozen=True, slots=True)
class IndexRange:
    """`R[a..b]`: instances a to b-1; bounds are ints or parameter names."""

    start: int | str
    stop: int | str


@dataclass(frozen=True, slots=True)
class IndexExpr:
    """`R[i+1]`, `R[(i + 1) % N]`: integer arithmetic over index variables, integers and parameters."""

    expr: Expr


RoleIndex = IndexAll | IndexValue | IndexRange | IndexExpr


@dataclass(frozen=True, slots=True)
class RoleRef:
    """A reference to a role in a statement, with an optional family index."""

    name: str
    index: RoleIndex | None = None
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class TypeRef:
    """A type: a path (`std::vec::Vec`) with generic arguments."""

    name: str
    args: tuple[TypeExpr, ...] = ()
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)

    def __str__(self) -> str:
        if not self.args:
            return self.name
        return f"{self.name}<{', '.join(str(a) for a in self.args)}>"


@dataclass(frozen=True, slots=True)
class UnionType:
    """A Python union type: `int | None`."""

    options: tuple[TypeExpr, ...]
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)

    def __str__(self) -> str:
        return " | ".join(str(o) for o in self.options)


TypeExpr = TypeRef | UnionType


@dataclass(frozen=True, slots=True)
class PayloadField:
    """`name: Type`, a bare `Type`, or a bare `name` (then `type` is None)."""

    name: str | None
    type: TypeExpr | None
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Message:
    """`Label`, `Label<T>`, `Label(fields)`, `Label<T>(fields)`."""

    label: str
    type_args: tuple[TypeExpr, ...] = ()
    fields: tuple[PayloadField, ...] = ()
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Participant:
    """A role in a send with the annotations written on it (`A[flow_cost = 5]`)."""

    role: RoleRef
    annotations: Annotations = ()
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)
