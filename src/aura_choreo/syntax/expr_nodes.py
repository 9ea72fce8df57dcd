"""The expression nodes of the AST (the safe expression language of SPEC §1.6).

Frozen dataclasses with spans excluded from equality, like the rest of `syntax.ast`, which
re-exports them: import them from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aura_choreo.diagnostics import UNKNOWN_SPAN, Span


@dataclass(frozen=True, slots=True)
class Expr:
    """Base of the safe expression language (SPEC §1.6)."""

    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Literal(Expr):
    """An int, string, bool, or `None` literal."""

    value: int | str | bool | None


@dataclass(frozen=True, slots=True)
class Duration(Expr):
    """A duration literal (`500ms`, `30s`, `30_seconds`), normalised to milliseconds."""

    millis: int
    text: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Name(Expr):
    """A variable or a path such as `Vote::Commit` (segments joined by `::`)."""

    name: str


@dataclass(frozen=True, slots=True)
class Attribute(Expr):
    """`value.attr`."""

    value: Expr
    attr: str


@dataclass(frozen=True, slots=True)
class Index(Expr):
    """`value[index]`."""

    value: Expr
    index: Expr


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """`func(args...)`: only the whitelisted functions are evaluated (`min max len sum abs any all`)."""

    func: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class UnaryOp(Expr):
    """`not x`, `-x` (the Rust `!` is normalised to `not`)."""

    op: str
    operand: Expr


@dataclass(frozen=True, slots=True)
class BinOp(Expr):
    """Arithmetic, comparison and boolean operators (`&&`/`||` normalised to `and`/`or`)."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class ListExpr(Expr):
    """`[a, b, c]`."""

    items: tuple[Expr, ...]
