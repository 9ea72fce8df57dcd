"""Static helpers over the safe expression language: variables, parameter substitution, folding, text."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from aura_choreo.syntax.ast import (
    Attribute,
    BinOp,
    Call,
    Expr,
    Literal,
    Name,
    UnaryOp,
)
from aura_choreo.syntax.walk import expr_children

CONSTANT_NAMES = frozenset({"true", "false", "True", "False", "None"})
"""Names an expression reads as constants, not variables (the runtime evaluates them so)."""


def _names(expr: Expr) -> Iterator[str]:
    if isinstance(expr, Name):
        yield expr.name
    for child in expr_children(expr):
        yield from _names(child)


def variables(expr: Expr) -> frozenset[str]:
    """The variables an expression reads (paths such as `Vote::Commit` are constants, not variables)."""
    return frozenset(n for n in _names(expr) if "::" not in n and n not in CONSTANT_NAMES)


def substitute(expr: Expr, values: Mapping[str, int]) -> Expr:
    """`expr` with every name in `values` replaced by its integer, then constant-folded."""
    if isinstance(expr, Name) and expr.name in values:
        return Literal(values[expr.name], span=expr.span)
    if isinstance(expr, BinOp):
        return fold(
            BinOp(expr.op, substitute(expr.left, values), substitute(expr.right, values), span=expr.span)
        )
    if isinstance(expr, UnaryOp):
        return fold(UnaryOp(expr.op, substitute(expr.operand, values), span=expr.span))
    if isinstance(expr, Call):
        return Call(expr.func, tuple(substitute(a, values) for a in expr.args), span=expr.span)
    return expr


_ARITHMETIC: dict[str, Callable[[int, int], int | None]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a // b if b else None,
    "//": lambda a, b: a // b if b else None,
    "%": lambda a, b: a % b if b else None,
}


def fold(expr: Expr) -> Expr:
    """Fold integer arithmetic on literals (`3 - 1` -> `2`); anything else is returned unchanged."""
    if isinstance(expr, BinOp) and expr.op in _ARITHMETIC:
        left, right = int_value(expr.left), int_value(expr.right)
        if left is not None and right is not None:
            result = _ARITHMETIC[expr.op](left, right)
            if result is not None:
                return Literal(result, span=expr.span)
    if isinstance(expr, UnaryOp) and expr.op == "-":
        value = int_value(expr.operand)
        if value is not None:
            return Literal(-value, span=expr.span)
    return expr


def int_value(expr: Expr | None) -> int | None:
    """The integer an expression denotes, if it is a literal integer."""
    if isinstance(expr, Literal) and isinstance(expr.value, int) and not isinstance(expr.value, bool):
        return expr.value
    return None


def expr_text(expr: Expr) -> str:
    """The canonical source text of an expression (the formatter's rendering)."""
    from aura_choreo.syntax.formatter import format_expression

    return format_expression(expr)


def identifier_for(expr: Expr) -> str | None:
    """A Python identifier naming a simple expression (`chunk.is_last` -> `chunk_is_last`), else None."""
    if isinstance(expr, Name) and "::" not in expr.name:
        return expr.name
    if isinstance(expr, Attribute):
        inner = identifier_for(expr.value)
        return f"{inner}_{expr.attr}" if inner else None
    if isinstance(expr, UnaryOp) and expr.op == "not":
        inner = identifier_for(expr.operand)
        return f"not_{inner}" if inner else None
    return None
