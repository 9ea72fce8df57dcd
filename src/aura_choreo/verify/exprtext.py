"""A compact text form of expressions, used as coin keys and in diagrams."""

from __future__ import annotations

from aura_choreo.syntax.ast import (
    Attribute,
    BinOp,
    Call,
    Duration,
    Expr,
    Index,
    ListExpr,
    Literal,
    Name,
    UnaryOp,
)


def expr_text(expr: Expr) -> str:
    """`a + 1 > b.c` style text; deterministic, so equal expressions give equal text."""
    if isinstance(expr, Literal):
        if isinstance(expr.value, str):
            return '"' + expr.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(expr.value, bool):
            return "true" if expr.value else "false"
        return str(expr.value)
    if isinstance(expr, Duration):
        return f"{expr.millis}ms"
    if isinstance(expr, Name):
        return expr.name
    if isinstance(expr, Attribute):
        return f"{expr_text(expr.value)}.{expr.attr}"
    if isinstance(expr, Index):
        return f"{expr_text(expr.value)}[{expr_text(expr.index)}]"
    if isinstance(expr, Call):
        return f"{expr.func}({', '.join(expr_text(a) for a in expr.args)})"
    if isinstance(expr, UnaryOp):
        sep = " " if expr.op.isalpha() else ""
        return f"{expr.op}{sep}{_operand(expr.operand)}"
    if isinstance(expr, BinOp):
        return f"{_operand(expr.left)} {expr.op} {_operand(expr.right)}"
    if isinstance(expr, ListExpr):
        return "[" + ", ".join(expr_text(i) for i in expr.items) + "]"
    return repr(expr)


def _operand(expr: Expr) -> str:
    text = expr_text(expr)
    return f"({text})" if isinstance(expr, BinOp) else text


def literal_int(expr: Expr | None) -> int | None:
    """The value of an integer literal (not a bool), else None."""
    if isinstance(expr, Literal) and isinstance(expr.value, int) and not isinstance(expr.value, bool):
        return expr.value
    return None
