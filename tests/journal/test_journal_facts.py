"""The fact CRDT: union merge laws, version vectors, deltas."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aura_choreo.journal import Fact, FactId, FactLog, VersionVector

devices = st.sampled_from(["a", "b", "c"])
facts = st.builds(
    Fact,
    id=st.builds(FactId, devices, st.integers(1, 8)),
    name=st.sampled_from(["x", "y", "z"]),
    lamport=st.integers(0, 20),
    data=st.dictionaries(st.sampled_from(["k", "v"]), st.integers(0, 3), max_size=2),
)
logs = st.lists(facts, max_size=12).map(FactLog.of)
# Real replicas never hold two different facts under one id: each id's content is fixed here.
consistent_logs = st.lists(
    st.builds(FactId, devices, st.integers(1, 8)).map(
        lambda i: Fact(i, f"{i.device}{i.counter}", lamport=i.counter)
    ),
    max_size=12,
).map(FactLog.of)


@settings(max_examples=150)
@given(logs, logs)
def test_merge_is_commutative(a: FactLog, b: FactLog) -> None:
    assert a.merge(b) == b.merge(a)


@settings(max_examples=150)
@given(logs, logs, logs)
def test_merge_is_associative(a: FactLog, b: FactLog, c: FactLog) -> None:
    assert a.merge(b).merge(c) == a.merge(b.merge(c))


@settings(max_examples=100)
@given(logs)
def test_merge_is_idempotent(a: FactLog) -> None:
    assert a.merge(a) == a


@settings(max_examples=100)
@given(consistent_logs, consistent_logs)
def test_delta_since_a_replica_brings_it_up_to_date(a: FactLog, b: FactLog) -> None:
    assert b.merge(a.delta_since(b.version_vector())) == a.merge(b)


def fact(device: str, counter: int, name: str = "f") -> Fact:
    return Fact(FactId(device, counter), name)


def test_version_vector_counts_the_contiguous_prefix() -> None:
    log = FactLog.of([fact("a", 1), fact("a", 2), fact("a", 4), fact("b", 2)])
    assert log.version_vector() == VersionVector({"a": 2, "b": 0})


def test_delta_skips_what_the_peer_covers() -> None:
    log = FactLog.of([fact("a", 1), fact("a", 2), fact("b", 1)])
    delta = log.delta_since(VersionVector({"a": 1}))
    assert sorted(f.id for f in delta) == [FactId("a", 2), FactId("b", 1)]


def test_version_vector_merge_is_pointwise_max() -> None:
    merged = VersionVector({"a": 3, "b": 1}).merge(VersionVector({"b": 4, "c": 2}))
    assert merged == VersionVector({"a": 3, "b": 4, "c": 2})


def test_wire_round_trip() -> None:
    log = FactLog.of([Fact(FactId("a", 1), "n", "p", "s", "R", "L", 3, {"to": "B", "cost": 5})])
    assert FactLog.from_wire(log.to_wire()) == log
