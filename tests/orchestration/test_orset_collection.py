"""ORSet tombstones are collected once causally stable (issue 16): what every replica holds up to the
pointwise minimum of all versions can be dropped, and nothing dropped ever comes back."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aura_choreo.orchestration.crdt import CrdtDecodeError, ORMap, ORSet, codec, stable_version


def synced(*replicas: ORSet) -> list[ORSet]:
    joined = ORSet.join_all(replicas)
    return [r.merge(joined) for r in replicas]


def test_collection_drops_stable_tombstones_and_their_adds_and_keeps_the_value() -> None:
    a, b, c = ORSet(), ORSet(), ORSet()
    a, stale = a.add("a", "x")  # `stale`: the add's delta, as a slow network might deliver it late
    a, _ = a.add("a", "y")
    b, _ = b.add("b", "z")
    a, b, c = synced(a, b, c)
    b, _ = b.remove("b", "x")
    a, b, c = synced(a, b, c)
    assert a.value == frozenset({"y", "z"}) and len(a.removes) == 1 and len(a.adds) == 3
    stable = stable_version(r.version() for r in (a, b, c))
    collected = [r.collect(stable) for r in (a, b, c)]
    for r in collected:
        assert r.value == frozenset({"y", "z"})
        assert r.removes == frozenset() and len(r.adds) == 2
        assert r.floor == stable
    ga, gb, _ = collected
    # A stale delta carrying the removed add does not bring it back, on a collected replica ...
    assert ga.merge(stale).value == frozenset({"y", "z"}) and ga.merge(stale) == ga
    # ... nor through a replica that has not collected yet (it still has the tombstone).
    assert b.merge(stale).merge(ga).value == ga.value
    # Collected and uncollected replicas converge both ways, to the collected form.
    assert ga.merge(b) == b.merge(ga) == ga
    # Later operations work as before: the same element added again (a new dot) is there.
    ga, fresh = ga.add("a", "x")
    assert gb.merge(fresh).value == frozenset({"x", "y", "z"}) and "x" in ga
    assert ga.version()["a"] >= stable["a"]


def test_a_tombstone_not_yet_stable_everywhere_is_kept() -> None:
    a, b = ORSet(), ORSet()
    a, _ = a.add("a", "x")
    a, b = synced(a, b)
    a, _ = a.remove("a", "x")  # b has not seen the remove
    stable = stable_version([a.version(), b.version()])
    assert a.collect(stable).removes == a.removes  # the remove's dot is past b's version
    with pytest.raises(ValueError, match="holds only"):
        b.collect(a.version())  # b does not hold everything up to a's version


def test_the_floor_travels_in_the_bytes_and_old_bytes_still_decode() -> None:
    a = ORSet()
    for e in "xyz":
        a, _ = a.add("a", e)
    a, _ = a.remove("a", "y")
    assert len(codec.unpack(a.to_bytes())[1]) == 2  # type: ignore[arg-type]  # no floor: the old shape
    collected = a.collect(a.version())
    assert ORSet.from_bytes(collected.to_bytes()) == collected
    assert ORSet.from_bytes(a.to_bytes()) == a
    kind, body = codec.unpack(collected.to_bytes())
    assert isinstance(body, list) and len(body) == 3
    for floor in ("nope", [["a", 0]], [["a", 1], ["a", 2]]):
        with pytest.raises(CrdtDecodeError):
            ORSet.from_bytes(codec.pack(kind, [body[0], body[1], floor]))
    with pytest.raises(CrdtDecodeError):
        ORSet.from_bytes(codec.pack(kind, [*body, []]))


REPLICAS = 3
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, REPLICAS - 1), st.sampled_from("xyz")),
        st.tuples(st.just("remove"), st.integers(0, REPLICAS - 1), st.sampled_from("xyz")),
        st.tuples(st.just("merge"), st.integers(0, REPLICAS - 1), st.integers(0, REPLICAS - 1)),
        st.tuples(st.just("collect"), st.integers(0, REPLICAS - 1), st.just("")),
        st.tuples(st.just("stale"), st.integers(0, REPLICAS - 1), st.integers(0, 50)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(STEPS)
def test_collecting_never_changes_any_replicas_value(steps: list[tuple[str, int, object]]) -> None:
    """Two runs of the same operations and merges, one that also collects whenever asked (at the
    stable version of all replicas then) and redelivers old deltas: every replica's value is the same
    in both runs at every step, and merges of collected states are still a join."""
    plain = [ORSet() for _ in range(REPLICAS)]
    gc = [ORSet() for _ in range(REPLICAS)]
    deltas: list[ORSet] = []
    for kind, i, arg in steps:
        name = "abc"[i]
        if kind in ("add", "remove"):
            plain[i], delta = getattr(plain[i], kind)(name, arg)
            gc[i], delta_gc = getattr(gc[i], kind)(name, arg)
            assert delta == delta_gc
            deltas.append(delta)
        elif kind == "merge":
            assert isinstance(arg, int)
            plain[i] = plain[i].merge(plain[arg])
            gc[i] = gc[i].merge(gc[arg])
        elif kind == "collect":
            gc[i] = gc[i].collect(stable_version(r.version() for r in gc))
        elif deltas:  # a stale delta arrives again (at-least-once delivery)
            assert isinstance(arg, int)
            old = deltas[arg % len(deltas)]
            plain[i], gc[i] = plain[i].merge(old), gc[i].merge(old)
        assert [r.value for r in gc] == [r.value for r in plain]
    for x, y, z in itertools.permutations(gc, 3):
        assert x.merge(y) == y.merge(x) and x.merge(x) == x
        assert x.merge(y).merge(z) == x.merge(y.merge(z))
    everything = ORSet.join_all(plain).value
    assert ORSet.join_all(gc).value == everything
    assert sum(len(r.removes) for r in gc) <= sum(len(r.removes) for r in plain)


def test_an_ormap_collects_its_key_tombstones_and_nested_sets() -> None:
    a, b = ORMap(), ORMap()
    a, stale = a.update("a", "tags", ORSet(), lambda s: s.add("a", "red"))
    a, _ = a.update("a", "gone", ORSet(), lambda s: s.add("a", "x"))
    a, b = synced_maps(a, b)
    b, _ = b.update("b", "tags", ORSet(), lambda s: s.remove("b", "red"))
    b, _ = b.remove("b", "gone")
    a, b = synced_maps(a, b)
    before = a.value
    assert before == {"tags": frozenset()}
    stable = stable_version([a.version(), b.version()])
    ga, gb = a.collect(stable), b.collect(stable)
    assert ga.value == gb.value == before
    assert ga.keys.removes == frozenset() and ga.get("tags", ORSet()).removes == frozenset()
    assert ga.merge(stale).value == before and b.merge(ga).value == before and ga.merge(b) == ga


def synced_maps(*replicas: ORMap) -> list[ORMap]:
    joined = ORMap.join_all(replicas)
    return [r.merge(joined) for r in replicas]
