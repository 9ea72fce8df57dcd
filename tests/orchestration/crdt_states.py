"""Hypothesis strategies for reachable CRDT states: three replicas run random operations and merges.

Arbitrary structures would include states no replica can reach (two writes with one dot), for which
the laws need not hold; so every state here is the result of real operations and merges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from aura_choreo.orchestration.crdt import (
    Crdt,
    GCounter,
    LWWRegister,
    MVRegister,
    ORMap,
    ORSet,
    PNCounter,
    VectorClock,
)

REPLICAS = ("a", "b", "c")
ELEMENTS = st.one_of(st.sampled_from(["x", "y", "z"]), st.integers(0, 3), st.sampled_from([b"\x00", b"k"]))
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3), st.binary(max_size=3))

Op = Callable[[Any, str], tuple[Any, Any]]


def _ops(kind: type[Crdt]) -> st.SearchStrategy[Op]:
    if kind is VectorClock:
        return st.just(lambda s, r: s.increment(r))
    if kind is GCounter:
        return st.integers(1, 5).map(lambda n: lambda s, r: s.increment(r, n))
    if kind is PNCounter:
        return st.tuples(st.booleans(), st.integers(1, 5)).map(
            lambda t: (lambda s, r: s.increment(r, t[1])) if t[0] else (lambda s, r: s.decrement(r, t[1]))
        )
    if kind is LWWRegister:
        return st.tuples(VALUES, st.none() | st.integers(0, 20)).map(
            lambda t: lambda s, r: s.assign(r, t[0], t[1])
        )
    if kind is MVRegister:
        return VALUES.map(lambda v: lambda s, r: s.assign(r, v))
    if kind is ORSet:
        return st.tuples(st.booleans(), ELEMENTS).map(
            lambda t: (lambda s, r: s.add(r, t[1])) if t[0] else (lambda s, r: s.remove(r, t[1]))
        )
    if kind is ORMap:
        return st.one_of(
            st.sampled_from(["c1", "c2"]).map(
                lambda k: lambda s, r: s.update(r, k, PNCounter(), lambda c: c.decrement(r))
            ),
            st.tuples(st.sampled_from(["m1", "m2"]), VALUES).map(
                lambda t: lambda s, r: s.update(r, t[0], MVRegister(), lambda c: c.assign(r, t[1]))
            ),
            st.tuples(st.sampled_from(["s1"]), ELEMENTS).map(
                lambda t: lambda s, r: s.update(r, t[0], ORSet(), lambda c: c.add(r, t[1]))
            ),
            st.sampled_from(["c1", "m1", "s1"]).map(lambda k: lambda s, r: s.remove(r, k)),
        )
    raise AssertionError(kind)


@dataclass
class History:
    """Final replica states; then replica `a` runs more operations alone, from `a_before` to
    `a_after`, and `deltas` are the deltas of those operations, in order."""

    states: list[Any]
    a_before: Any
    a_after: Any
    deltas: list[Any]


@st.composite
def histories(draw: st.DrawFn, kind: type[Crdt], max_steps: int = 12) -> History:
    states: list[Any] = [kind.empty() for _ in REPLICAS]
    steps = draw(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3)), max_size=max_steps))
    for who, action in steps:
        if action == 3:  # merge from another replica
            other = draw(st.integers(0, 2))
            states[who] = states[who].merge(states[other])
            continue
        op = draw(_ops(kind))
        states[who], _ = op(states[who], REPLICAS[who])
    after, deltas = states[0], []
    for op in draw(st.lists(_ops(kind), max_size=4)):
        after, delta = op(after, REPLICAS[0])
        deltas.append(delta)
    return History(states, states[0], after, deltas)


def states(kind: type[Crdt]) -> st.SearchStrategy[Any]:
    return histories(kind).flatmap(lambda h: st.sampled_from(h.states))


KINDS: list[type[Crdt]] = [VectorClock, GCounter, PNCounter, LWWRegister, MVRegister, ORSet, ORMap]
