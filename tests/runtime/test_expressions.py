"""The safe expression evaluator: what it computes, and what it refuses to do."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aura_choreo.runtime.expressions import (
    ExpressionError,
    UnknownName,
    attribute_reads,
    evaluate,
    free_names,
    matches_pattern,
)
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


def test_arithmetic_comparison_and_boolean_operators() -> None:
    expr = BinOp("and", BinOp(">=", BinOp("+", Name("a"), Literal(2)), Literal(5)), UnaryOp("not", Name("f")))
    assert evaluate(expr, {"a": 3, "f": False}) is True
    assert evaluate(BinOp("||", Literal(False), Literal(7)), {}) == 7
    assert evaluate(BinOp("%", Literal(7), Literal(3)), {}) == 1
    assert evaluate(BinOp("/", Literal(7), Literal(2)), {}) == 3
    assert evaluate(UnaryOp("-", Literal(4)), {}) == -4


def test_boolean_operators_short_circuit() -> None:
    # The right side names an unknown variable: it must not be evaluated.
    assert evaluate(BinOp("and", Literal(False), Name("ghost")), {}) is False
    assert evaluate(BinOp("or", Literal(True), Name("ghost")), {}) is True


def test_attribute_access_reads_records_and_objects() -> None:
    class Chunk:
        is_last = True

    assert evaluate(Attribute(Name("c"), "is_last"), {"c": {"is_last": False}}) is False
    assert evaluate(Attribute(Name("c"), "is_last"), {"c": Chunk()}) is True


def test_indexing_lists_and_maps() -> None:
    env = {"xs": [10, 20], "m": {"k": 1}}
    assert evaluate(Index(Name("xs"), Literal(1)), env) == 20
    assert evaluate(Index(Name("m"), Literal("k")), env) == 1
    with pytest.raises(ExpressionError, match="bad index"):
        evaluate(Index(Name("xs"), Literal(5)), env)


def test_whitelisted_functions() -> None:
    env = {"xs": [3, 1, 2]}
    assert evaluate(Call("len", (Name("xs"),)), env) == 3
    assert evaluate(Call("sum", (Name("xs"),)), env) == 6
    assert evaluate(Call("min", (Name("xs"),)), env) == 1
    assert evaluate(Call("max", (Literal(4), Literal(9))), env) == 9
    assert evaluate(Call("abs", (Literal(-2),)), env) == 2
    assert evaluate(Call("any", (ListExpr((Literal(False), Literal(True))),)), env) is True
    assert evaluate(Call("all", (ListExpr((Literal(False), Literal(True))),)), env) is False


def test_durations_are_milliseconds_and_enum_paths_stand_for_themselves() -> None:
    assert evaluate(Duration(30_000, "30s"), {}) == 30_000
    assert evaluate(BinOp("==", Name("vote"), Name("Vote::Commit")), {"vote": "Vote::Commit"}) is True
    assert evaluate(BinOp("==", Name("vote"), Name("Vote::Commit")), {"vote": "Commit"}) is True


def test_unknown_names_raise_a_typed_error() -> None:
    with pytest.raises(UnknownName) as caught:
        evaluate(Name("ghost"), {})
    assert caught.value.name == "ghost"


@pytest.mark.parametrize("func", ["eval", "exec", "__import__", "open", "getattr", "print", "compile"])
def test_functions_outside_the_whitelist_are_refused(func: str) -> None:
    with pytest.raises(ExpressionError, match="not allowed"):
        evaluate(Call(func, (Literal("1"),)), {})


@pytest.mark.parametrize("attr", ["__class__", "__globals__", "__dict__", "_private", "__subclasses__"])
def test_private_and_dunder_attributes_are_refused(attr: str) -> None:
    with pytest.raises(ExpressionError, match="refused"):
        evaluate(Attribute(Name("x"), attr), {"x": object()})


def test_methods_reached_by_attribute_are_never_called() -> None:
    calls: list[str] = []

    class Trap:
        def boom(self) -> None:
            calls.append("called")

    value = evaluate(Attribute(Name("t"), "boom"), {"t": Trap()})
    assert callable(value)
    assert calls == []  # reading the attribute did not run it, and there is no call syntax for it
    with pytest.raises(ExpressionError):
        evaluate(Call("boom", ()), {"boom": Trap().boom})


def test_code_looking_strings_are_just_strings() -> None:
    text = "__import__('os').system('touch /tmp/pwned')"
    assert evaluate(Literal(text), {}) == text
    assert evaluate(Name("s"), {"s": text}) == text


def test_resource_bombs_are_refused() -> None:
    huge = 1 << 4000
    with pytest.raises(ExpressionError, match="bits"):
        evaluate(BinOp("*", Literal(huge), Literal(huge)), {})
    with pytest.raises(ExpressionError, match="numbers"):
        evaluate(BinOp("*", Literal("a"), Literal(10**9)), {})
    with pytest.raises(ExpressionError, match="division by zero"):
        evaluate(BinOp("/", Literal(1), Literal(0)), {})


def test_free_names_and_attribute_reads() -> None:
    expr = BinOp("and", Attribute(Name("chunk"), "is_last"), BinOp("==", Name("v"), Name("Vote::Commit")))
    assert free_names(expr) == {"chunk", "v"}
    assert attribute_reads(expr) == {"chunk": {"is_last"}}


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("Vote::Commit", "Vote::Commit", True),
        ("Commit", "Vote::Commit", True),
        ("Vote::Abort", "Vote::Commit", False),
        (True, "true", True),
        (3, "3", True),
        ("anything", "_", True),
    ],
)
def test_match_patterns(value: object, pattern: str, expected: bool) -> None:
    assert matches_pattern(value, pattern) is expected


_names = st.sampled_from(["a", "b", "__class__", "eval", "_x", "len", "os"])
_leaves: st.SearchStrategy[Expr] = st.one_of(
    st.builds(Literal, st.one_of(st.integers(-5, 5), st.text(max_size=5), st.booleans())),
    st.builds(Name, _names),
)


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        st.builds(BinOp, st.sampled_from(["+", "-", "*", "/", "==", "<", "and", "or"]), children, children),
        st.builds(UnaryOp, st.sampled_from(["not", "-"]), children),
        st.builds(Attribute, children, _names),
        st.builds(Index, children, children),
        st.builds(Call, _names, st.lists(children, max_size=2).map(tuple)),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(_leaves, _extend, max_leaves=8))
def test_random_expressions_only_return_values_or_raise_expression_error(expr: Expr) -> None:
    env: dict[str, object] = {"a": 2, "b": [1, 2, 3]}
    try:
        evaluate(expr, env)
    except ExpressionError:
        pass
    assert env == {"a": 2, "b": [1, 2, 3]}  # evaluation never mutates the environment
