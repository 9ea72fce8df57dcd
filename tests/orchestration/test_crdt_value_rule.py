"""The CRDT value rule (`codec`): every operation refuses, with `CrdtValueError` and before anything
changes, what the byte format cannot carry back, so whatever it accepts round-trips through
`to_bytes`/`from_bytes` and merges the same afterwards (hunt6: a float element, a float timestamp or
an int replica was accepted, written, and then refused by every peer's `from_bytes`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aura_choreo.orchestration.crdt import (
    Crdt,
    CrdtValueError,
    GCounter,
    LWWRegister,
    MVRegister,
    ORMap,
    ORSet,
    PNCounter,
    VectorClock,
    decode,
)

EDGES = [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1]
# Anything a caller might pass: what the format holds, what it does not (floats, NaN, bools where an
# int is meant, ints past 64 bits, lone surrogates, containers, a bytearray), and the edges between.
WILD: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(EDGES),
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.sampled_from(["\ud800", "a\udfff"]),
    st.binary(max_size=3),
    st.just(bytearray(b"x")),
    st.tuples(st.integers(0, 2)),
)
NAMES = st.sampled_from(["a", "b"])
AMOUNTS = st.one_of(st.integers(1, 5), st.sampled_from(EDGES), WILD)

Op = Callable[[Any], tuple[Any, Any]]


def _nested(key: object) -> tuple[Crdt, Callable[[Any], st.SearchStrategy[Op]]]:
    # One CRDT type per key on every replica (a key's type is fixed by the key), so merges never clash.
    if key == "reg":
        return MVRegister(), lambda r: WILD.map(lambda v: lambda c: c.assign(r, v))
    if key == "count":
        return PNCounter(), lambda r: AMOUNTS.map(lambda n: lambda c: c.decrement(r, n))
    return ORSet(), lambda r: WILD.map(lambda e: lambda c: c.add(r, e))


@st.composite
def operations(draw: st.DrawFn, kind: type[Crdt], own: str) -> Op:
    r: Any = draw(st.one_of(st.just(own), st.just(own), WILD))  # mostly its own replica id
    if kind is VectorClock:
        return lambda s: s.increment(r)
    if kind in (GCounter, PNCounter):
        n = draw(AMOUNTS)
        down = kind is PNCounter and draw(st.booleans())
        return lambda s: s.decrement(r, n) if down else s.increment(r, n)
    if kind is LWWRegister:
        v, t = draw(WILD), draw(st.one_of(st.none(), st.integers(0, 20), st.sampled_from(EDGES), WILD))
        return lambda s: s.assign(r, v, t)
    if kind is MVRegister:
        v = draw(WILD)
        return lambda s: s.assign(r, v)
    if kind is ORSet:
        e, add = draw(st.one_of(st.sampled_from(["x", 1, b"y"]), WILD)), draw(st.booleans())
        return lambda s: s.add(r, e) if add else s.remove(r, e)
    if kind is ORMap:
        key = draw(st.one_of(st.sampled_from(["reg", "count", "set"]), WILD))
        if draw(st.booleans()):
            return lambda s: s.remove(r, key)
        default, nested = _nested(key)
        op = draw(nested(r))
        return lambda s: s.update(r, key, default, op)
    raise AssertionError(kind)


KINDS = [VectorClock, GCounter, PNCounter, LWWRegister, MVRegister, ORSet, ORMap]


def _round_trip(state: Crdt) -> Crdt:
    data = state.to_bytes()
    back = type(state).from_bytes(data)
    assert back == state and back.to_bytes() == data and decode(data) == state
    version = state.version()
    assert VectorClock.from_bytes(version.to_bytes()) == version  # coordinators ship versions too
    return back


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.KIND)
@given(data=st.data())
def test_accepted_operations_round_trip_and_merge_the_same(kind: type[Crdt], data: st.DataObject) -> None:
    replicas: list[Any] = [kind.empty(), kind.empty()]
    for _ in range(data.draw(st.integers(0, 12), label="steps")):
        i = data.draw(st.integers(0, 2), label="replica")
        if i == 2:  # a sync: each side merges the other's decoded bytes
            a, b = replicas
            replicas = [a.merge(_round_trip(b)), b.merge(_round_trip(a))]
            continue
        op = data.draw(operations(kind, "ab"[i]), label="operation")
        before = replicas[i].to_bytes()
        try:
            replicas[i], delta = op(replicas[i])
        except CrdtValueError:
            assert replicas[i].to_bytes() == before  # refused before anything changed
            continue
        _round_trip(delta)
        _round_trip(replicas[i])
    a, b = replicas
    assert _round_trip(a).merge(_round_trip(b)) == a.merge(b)
    assert _round_trip(a.merge(b)).to_bytes() == a.merge(b).to_bytes()


@pytest.mark.parametrize(
    ("op", "named"),
    [
        (lambda: ORSet().add("a", 1.5), "element 1.5"),
        (lambda: ORSet().add("a", True), "element True"),
        (lambda: ORSet().remove("a", 2.0), "element 2.0"),
        (lambda: LWWRegister().assign("a", "x", 1.5), "timestamp 1.5"),
        (lambda: LWWRegister().assign("a", float("nan")), "value nan"),
        (lambda: MVRegister().assign("a", "\ud800"), "value '\\ud800'"),
        (lambda: GCounter().increment(5, 1), "replica 5"),  # type: ignore[arg-type]
        (lambda: GCounter().increment("a", 2**64), f"amount {2**64}"),
        (lambda: PNCounter().increment("a", 2**63)[0].decrement("a", 2**63), f"amount {2**63}"),
        (lambda: ORMap().remove("a", 3), "key 3"),  # type: ignore[arg-type]
        (lambda: VectorClock().increment(b"a"), "replica b'a'"),  # type: ignore[arg-type]
    ],
)
def test_a_refusal_names_the_value_and_what_is_allowed(op: Callable[[], object], named: str) -> None:
    with pytest.raises(CrdtValueError, match="the byte format holds") as caught:
        op()
    assert named in str(caught.value)
    assert isinstance(caught.value, ValueError)  # as the counters' amount check always was


def test_a_register_write_built_from_its_clock_keeps_the_value_rule() -> None:
    """`MVRegister.written` (what a storage write ships) refuses what `assign` refuses, and a clock
    that does not count the write itself (its bytes would not decode: `Sibling.from_body`)."""
    clock = VectorClock.of({"a": 2})
    assert MVRegister.written("a", clock, "x").value == ("x",)
    assert MVRegister.from_bytes(MVRegister.written("a", clock, 7).to_bytes()).value == (7,)
    with pytest.raises(CrdtValueError, match=r"value 1\.5 refused"):
        MVRegister.written("a", clock, 1.5)  # type: ignore[arg-type]
    with pytest.raises(CrdtValueError, match="must count the write"):
        MVRegister.written("b", clock, "x")
