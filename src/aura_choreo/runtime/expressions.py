"""The safe expression evaluator (SPEC §1.6): guards, `match`, `if`, `let`, loop counts.

Expressions are AST values (`aura_choreo.syntax.ast`), never text handed to `eval`. Only literals,
names, attribute access, indexing, comparisons, arithmetic, boolean operators and the functions
`min max len sum abs any all` exist (and `journal_facts("name")`, the facts a role loaded from its
journal for a guard: `runtime.fact_guards`). Attributes starting with `_` are refused (no `__class__`,
`__globals__`, ...), only data is indexed, and nothing user-supplied is ever called: a method found by
attribute access stays an inert value. Arithmetic is bounded so an expression cannot exhaust memory.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any

from aura_choreo.errors import AuraChoreoError
from aura_choreo.runtime.fact_guards import facts_key
from aura_choreo.semantics.expressions import variables
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
from aura_choreo.syntax.walk import expr_children

MAX_INT_BITS = 4096
"""Integers grown past this many bits by arithmetic are refused (no `10**10**10` bombs)."""
MAX_SEQUENCE = 100_000
"""Strings and lists grown past this length by `+` are refused."""


class ExpressionError(AuraChoreoError):
    """An expression could not be evaluated (unknown name, refused operation, type error)."""


class UnknownName(ExpressionError):
    """A name the environment does not bind."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown variable `{name}`")


def _any(values: object) -> bool:
    return any(_iterable(values, "any"))


def _all(values: object) -> bool:
    return all(_iterable(values, "all"))


def _iterable(value: object, func: str) -> list[Any]:
    if isinstance(value, list | tuple | set | frozenset | dict | str | bytes):
        return list(value)
    raise ExpressionError(f"`{func}` needs a list, got {type(value).__name__}")


def _len(value: object) -> int:
    return len(_iterable(value, "len"))


def _sum(values: object) -> Any:
    items = _iterable(values, "sum")
    if not all(isinstance(v, int | float) for v in items):
        raise ExpressionError("`sum` needs a list of numbers")
    return _check_number(sum(items))


def _min_max(func: Callable[..., Any], name: str) -> Callable[..., Any]:
    def apply(*args: object) -> Any:
        if not args:
            raise ExpressionError(f"`{name}` needs at least one argument")
        items = _iterable(args[0], name) if len(args) == 1 else list(args)
        if not items:
            raise ExpressionError(f"`{name}` of an empty list")
        try:
            return func(items)
        except TypeError as exc:
            raise ExpressionError(f"`{name}`: {exc}") from None

    return apply


def _abs(value: object) -> Any:
    if isinstance(value, int | float):
        return abs(value)
    raise ExpressionError(f"`abs` needs a number, got {type(value).__name__}")


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "min": _min_max(min, "min"),
    "max": _min_max(max, "max"),
    "len": _len,
    "sum": _sum,
    "abs": _abs,
    "any": _any,
    "all": _all,
}
"""The whitelist: the only functions an expression can call."""


def _check_number(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ExpressionError(f"integer result exceeds {MAX_INT_BITS} bits")
    return value


def _check_sequence(value: Any) -> Any:
    if isinstance(value, str | list | tuple | bytes) and len(value) > MAX_SEQUENCE:
        raise ExpressionError(f"result longer than {MAX_SEQUENCE} items")
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float)


def _arith(op: str, left: Any, right: Any) -> Any:
    if op == "+":
        if _is_number(left) and _is_number(right):
            return _check_number(left + right)
        if type(left) is type(right) and isinstance(left, str | list | tuple | bytes):
            return _check_sequence(left + right)
        raise ExpressionError(f"cannot add {type(left).__name__} and {type(right).__name__}")
    if not (_is_number(left) and _is_number(right)):
        raise ExpressionError(f"`{op}` needs numbers, got {type(left).__name__} and {type(right).__name__}")
    if op == "-":
        return _check_number(left - right)
    if op == "*":
        if isinstance(left, int) and isinstance(right, int) and (
            left.bit_length() + right.bit_length() > MAX_INT_BITS
        ):
            raise ExpressionError(f"integer result exceeds {MAX_INT_BITS} bits")
        return _check_number(left * right)
    if op in ("/", "//", "%"):
        if right == 0:
            raise ExpressionError("division by zero")
        if op == "%":
            return left % right
        if op == "//" or (isinstance(left, int) and isinstance(right, int)):
            return left // right  # integer division, as in the Rust source the seeds come from
        return left / right
    raise ExpressionError(f"unsupported operator `{op}`")


_COMPARE: Mapping[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(values_equal(a, b)),
    "!=": lambda a, b: not values_equal(a, b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def values_equal(left: object, right: object) -> bool:
    """Equality where an enum-like value also equals its path (`Vote::Commit`) or last segment."""
    if isinstance(left, str) and not isinstance(right, str):
        left, right = right, left
    if isinstance(right, str) and "::" in right and not isinstance(left, str):
        return matches_pattern(left, right)
    if isinstance(left, str) and isinstance(right, str) and ("::" in left or "::" in right):
        return left.rsplit("::", 1)[-1] == right.rsplit("::", 1)[-1]
    return left == right


def matches_pattern(value: object, pattern: str) -> bool:
    """Whether `value` matches a `match` arm's pattern (`Vote::Commit`, `Commit`, `_`, `true`, `3`)."""
    if pattern == "_":
        return True
    last = pattern.rsplit("::", 1)[-1]
    if isinstance(value, bool):
        return last == ("true" if value else "false")
    if isinstance(value, int | float):
        return last == str(value)
    if isinstance(value, str):
        return value == pattern or value.rsplit("::", 1)[-1] == last
    if isinstance(value, enum.Enum):
        return value.name == last or value.value == last
    tag = getattr(value, "variant", None)
    if isinstance(tag, str):
        return tag.rsplit("::", 1)[-1] == last
    return type(value).__name__ == last


def _attribute(value: object, attr: str) -> Any:
    if attr.startswith("_"):
        raise ExpressionError(f"attribute `{attr}` is refused (private or special)")
    if isinstance(value, Mapping):
        if attr in value:
            return value[attr]
        raise ExpressionError(f"no field `{attr}`")
    try:
        return getattr(value, attr)
    except AttributeError:
        raise ExpressionError(f"{type(value).__name__} has no field `{attr}`") from None


def _index(value: object, index: object) -> Any:
    if not isinstance(value, list | tuple | dict | str | bytes):
        raise ExpressionError(f"cannot index a {type(value).__name__}")
    try:
        return value[index]  # type: ignore[index,call-overload]
    except (IndexError, KeyError, TypeError) as exc:
        raise ExpressionError(f"bad index {index!r}: {exc}") from None


def evaluate(expr: Expr, env: Mapping[str, object]) -> Any:
    """The value of `expr` in `env`; raises `ExpressionError` (never executes arbitrary code)."""
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Name):
        return _lookup(expr.name, env)
    if isinstance(expr, Duration):
        return expr.millis
    if isinstance(expr, BinOp):
        return _binop(expr, env)
    if isinstance(expr, UnaryOp):
        return _unary(expr.op, evaluate(expr.operand, env))
    if isinstance(expr, Attribute):
        return _attribute(evaluate(expr.value, env), expr.attr)
    if isinstance(expr, Index):
        return _index(evaluate(expr.value, env), evaluate(expr.index, env))
    if isinstance(expr, Call):
        if expr.func == "journal_facts":
            return _journal_facts(expr, env)
        func = FUNCTIONS.get(expr.func)
        if func is None:
            raise ExpressionError(f"function `{expr.func}` is not allowed (only {', '.join(FUNCTIONS)})")
        args = [evaluate(arg, env) for arg in expr.args]
        try:
            return func(*args)
        except TypeError:
            raise ExpressionError(f"`{expr.func}` cannot take these {len(args)} argument(s)") from None
    if isinstance(expr, ListExpr):
        return _check_sequence([evaluate(item, env) for item in expr.items])
    raise ExpressionError(f"unsupported expression {type(expr).__name__}")


def _journal_facts(expr: Call, env: Mapping[str, object]) -> Any:
    """The facts a role loaded for its guards (`runtime.fact_guards`); the name must be a literal."""
    name = expr.args[0] if len(expr.args) == 1 else None
    if not isinstance(name, Literal) or not isinstance(name.value, str):
        raise ExpressionError('`journal_facts` takes one fact name in quotes: journal_facts("approved")')
    key = facts_key(name.value)
    if key not in env:
        raise ExpressionError("`journal_facts` is only known to a role deciding a choice (its journal)")
    return env[key]


_CONSTANTS: Mapping[str, object] = {"true": True, "false": False, "True": True, "False": False, "None": None}


def _lookup(name: str, env: Mapping[str, object]) -> Any:
    if name in env:
        return env[name]
    if name in _CONSTANTS:
        return _CONSTANTS[name]
    if "::" in name:
        return name  # an enum path (`Vote::Commit`) stands for itself
    raise UnknownName(name)


def _binop(expr: BinOp, env: Mapping[str, object]) -> Any:
    op = expr.op
    if op in ("and", "&&"):
        return evaluate(expr.left, env) and evaluate(expr.right, env)
    if op in ("or", "||"):
        return evaluate(expr.left, env) or evaluate(expr.right, env)
    left = evaluate(expr.left, env)
    right = evaluate(expr.right, env)
    compare = _COMPARE.get(op)
    if compare is not None:
        try:
            return compare(left, right)
        except TypeError:
            raise ExpressionError(
                f"cannot compare {type(left).__name__} {op} {type(right).__name__}"
            ) from None
    if op == "in":
        return left in _iterable(right, "in")
    if op == "not in":
        return left not in _iterable(right, "not in")
    return _arith(op, left, right)


def _unary(op: str, value: Any) -> Any:
    if op in ("not", "!"):
        return not value
    if op == "-":
        if not _is_number(value):
            raise ExpressionError(f"cannot negate a {type(value).__name__}")
        return -value
    if op == "+":
        return value
    raise ExpressionError(f"unsupported operator `{op}`")


free_names = variables
"""The variable names an expression reads (the checker's rule: enum paths and constants excluded)."""


def attribute_reads(expr: Expr) -> dict[str, set[str]]:
    """For each variable, the attribute names `expr` reads from it (`chunk.is_last` -> {chunk: {is_last}})."""
    reads: dict[str, set[str]] = {}

    def walk(e: Expr) -> None:
        if isinstance(e, Attribute) and isinstance(e.value, Name):
            reads.setdefault(e.value.name, set()).add(e.attr)
        for child in expr_children(e):
            walk(child)

    walk(expr)
    return reads
