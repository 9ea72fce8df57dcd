"""What each CRDT means: values after concurrent operations, and causal delivery."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aura_choreo.orchestration.crdt import (
    CausalBuffer,
    CrdtMergeError,
    GCounter,
    LWWRegister,
    MVRegister,
    Operation,
    ORMap,
    ORSet,
    PNCounter,
    VectorClock,
)


def test_counters_sum_every_replica() -> None:
    a, _ = GCounter().increment("a", 3)
    b, _ = GCounter().increment("b", 4)
    assert a.merge(b).value == 7
    p, _ = PNCounter().increment("a", 5)
    q, _ = PNCounter().decrement("b", 2)
    assert p.merge(q).value == 3
    with pytest.raises(ValueError):
        GCounter().increment("a", 0)


def test_lww_a_later_write_wins_and_ties_are_deterministic() -> None:
    first, _ = LWWRegister().assign("a", "old")
    later, _ = first.assign("b", "new")
    assert first.merge(later).value == "new" == later.merge(first).value
    x, _ = LWWRegister().assign("a", "from a", timestamp=10)
    y, _ = LWWRegister().assign("b", "from b", timestamp=10)
    assert x.merge(y).value == y.merge(x).value == "from b"


def test_mv_register_keeps_concurrent_writes_as_siblings_until_overwritten() -> None:
    a, _ = MVRegister().assign("a", 1)
    b, _ = MVRegister().assign("b", 2)
    both = a.merge(b)
    assert sorted(both.value) == [1, 2]  # type: ignore[type-var]
    resolved, delta = both.resolve("a", lambda values: max(v for v in values if isinstance(v, int)))
    assert resolved.value == (2,)
    assert b.merge(delta).value == (2,)


def test_or_set_add_wins_over_a_concurrent_remove() -> None:
    base, _ = ORSet().add("a", "x")
    removed, _ = base.remove("b", "x")
    re_added, _ = base.add("a", "x")
    assert "x" not in removed
    assert removed.merge(re_added).value == frozenset({"x"})
    assert removed.merge(base).value == frozenset()  # a remove wins over the adds it saw


def test_or_map_merges_nested_values_and_keeps_a_concurrently_updated_key() -> None:
    m, _ = ORMap().update("a", "likes", GCounter(), lambda c: c.increment("a"))
    removed, _ = m.remove("b", "likes")
    bumped, _ = m.update("a", "likes", GCounter(), lambda c: c.increment("a"))
    assert removed.value == {}
    assert removed.merge(bumped).value == {"likes": 2}
    other, _ = ORMap().update("c", "likes", PNCounter(), lambda c: c.increment("c"))
    with pytest.raises(CrdtMergeError, match="one key, one CRDT type"):
        m.merge(other)


def test_vector_clock_order() -> None:
    a, _ = VectorClock().increment("a")
    b, _ = VectorClock().increment("b")
    assert a.concurrent(b)
    assert a < a.merge(b)
    assert not a.merge(b) <= a


def test_causal_buffer_holds_an_operation_until_its_cause_arrives() -> None:
    sender = CausalBuffer()
    sender, first = sender.stamp("a", b"1")
    sender, second = sender.stamp("a", b"2")
    receiver, ready = CausalBuffer().receive([second])
    assert ready == [] and receiver.pending == (second,)
    receiver, ready = receiver.receive([first, first])
    assert [op.payload for op in ready] == [b"1", b"2"]
    receiver, ready = receiver.receive([second])
    assert ready == [] and receiver.pending == ()


@settings(max_examples=50, deadline=None)
@given(st.randoms(use_true_random=False), st.lists(st.sampled_from("abc"), min_size=1, max_size=12))
def test_causal_delivery_in_any_arrival_order(rng: object, writers: list[str]) -> None:
    """Operations from three replicas, each made after everything before it, arrive shuffled and
    duplicated: each is delivered exactly once, after all of its causes."""
    import random

    assert isinstance(rng, random.Random)
    shared = CausalBuffer()
    ops: list[Operation] = []
    for index, writer in enumerate(writers):
        shared, op = shared.stamp(writer, str(index).encode())
        ops.append(op)
    arrivals = ops + rng.sample(ops, k=len(ops) // 2)
    rng.shuffle(arrivals)
    receiver, delivered = CausalBuffer(), []
    for op in arrivals:
        receiver, ready = receiver.receive([op])
        delivered += ready
    assert sorted(delivered, key=lambda o: o.payload) == sorted(ops, key=lambda o: o.payload)
    assert [int(op.payload) for op in delivered] == sorted(int(op.payload) for op in delivered)
