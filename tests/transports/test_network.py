"""The seeded network model: latency, loss, duplication, reordering, partitions, crashes."""

from __future__ import annotations

import random
import statistics

import pytest

from aura_choreo.transports.faults import BudgetExhaustion, Crash, DropMessage, DuplicateMessage, Partition
from aura_choreo.transports.network import (
    ExponentialLatency,
    FixedLatency,
    LinkModel,
    LinkOverride,
    NetworkModel,
    NetworkState,
    UniformLatency,
    sample_latency,
)


def arrivals(
    state: NetworkState, n: int, src: str = "A", dst: str = "B", gap: float = 0.0
) -> list[tuple[float, ...]]:
    return [state.transmit(src, dst, 100, i * gap).arrivals_ms for i in range(n)]


def test_fixed_latency_delivers_once_after_exactly_that_latency() -> None:
    state = NetworkState(NetworkModel(LinkModel(latency=FixedLatency(7.0))), (), seed=1)
    assert state.transmit("A", "B", 10, 100.0).arrivals_ms == (107.0,)


def test_uniform_latency_stays_in_range() -> None:
    rng = random.Random(3)
    draws = [sample_latency(UniformLatency(2.0, 9.0), rng) for _ in range(2000)]
    assert min(draws) >= 2.0 and max(draws) <= 9.0
    assert max(draws) - min(draws) > 6.0


def test_exponential_latency_has_the_requested_mean_and_floor() -> None:
    rng = random.Random(4)
    draws = [sample_latency(ExponentialLatency(mean_ms=10.0, min_ms=1.0), rng) for _ in range(20_000)]
    assert min(draws) >= 1.0
    assert statistics.mean(draws) == pytest.approx(11.0, rel=0.05)


def test_same_seed_gives_the_same_fates_and_another_seed_does_not() -> None:
    model = NetworkModel(LinkModel(latency=UniformLatency(1, 50), drop=0.2, duplicate=0.2, reorder=True))
    first = arrivals(NetworkState(model, (), seed=9), 200, gap=1.0)
    again = arrivals(NetworkState(model, (), seed=9), 200, gap=1.0)
    other = arrivals(NetworkState(model, (), seed=10), 200, gap=1.0)
    assert first == again
    assert first != other


def test_drop_and_duplicate_rates_follow_their_probabilities() -> None:
    model = NetworkModel(LinkModel(drop=0.3, duplicate=0.2))
    fates = arrivals(NetworkState(model, (), seed=5), 10_000)
    lost = sum(1 for a in fates if not a) / len(fates)
    doubled = sum(1 for a in fates if len(a) == 2) / len(fates)
    assert lost == pytest.approx(0.3, abs=0.02)
    assert doubled == pytest.approx(0.7 * 0.2, abs=0.02)


def test_without_reorder_each_link_is_fifo_even_with_jittery_latency() -> None:
    model = NetworkModel(LinkModel(latency=UniformLatency(1, 100), duplicate=0.3))
    flat = [t for a in arrivals(NetworkState(model, (), seed=2), 500, gap=0.5) for t in a]
    assert flat == sorted(flat)


def test_with_reorder_later_frames_can_overtake_earlier_ones() -> None:
    model = NetworkModel(LinkModel(latency=UniformLatency(1, 100), reorder=True))
    flat = [t for a in arrivals(NetworkState(model, (), seed=2), 500, gap=0.5) for t in a]
    assert flat != sorted(flat)


def test_bandwidth_serialises_frames_on_a_link() -> None:
    model = NetworkModel(LinkModel(latency=FixedLatency(0.0), bandwidth=1000.0))  # 1 byte per ms
    state = NetworkState(model, (), seed=0)
    assert state.transmit("A", "B", 100, 0.0).arrivals_ms == (100.0,)
    assert state.transmit("A", "B", 50, 0.0).arrivals_ms == (150.0,)  # queued behind the first
    assert state.transmit("B", "A", 10, 0.0).arrivals_ms == (10.0,)  # another link is idle


def test_link_override_applies_to_one_direction_only() -> None:
    slow = LinkModel(latency=FixedLatency(500.0))
    state = NetworkState(NetworkModel(LinkModel(), (LinkOverride("A", "B", slow),)), (), seed=0)
    assert state.transmit("A", "B", 1, 0.0).arrivals_ms == (500.0,)
    assert state.transmit("B", "A", 1, 0.0).arrivals_ms == (1.0,)


def test_partition_isolates_listed_roles_only_during_its_interval() -> None:
    state = NetworkState(NetworkModel(), (Partition(("A",), 10.0, 20.0),), seed=0)
    assert state.transmit("A", "B", 1, 5.0).arrivals_ms
    fate = state.transmit("B", "A", 1, 10.0)
    assert fate.arrivals_ms == () and fate.lost_because == "partitioned"
    assert state.transmit("B", "C", 1, 15.0).arrivals_ms
    assert state.transmit("A", "B", 1, 20.0).arrivals_ms


def test_crash_blocks_both_directions_until_restart() -> None:
    state = NetworkState(NetworkModel(), (Crash("B", 10.0, restart_ms=30.0),), seed=0)
    assert state.transmit("A", "B", 1, 10.0).lost_because == "B crashed"
    assert state.transmit("B", "A", 1, 29.0).lost_because == "B crashed"
    assert state.transmit("A", "B", 1, 30.0).arrivals_ms
    assert state.is_down("B", 15.0) and not state.is_down("B", 31.0) and not state.is_down("A", 15.0)


def test_crash_without_restart_is_forever() -> None:
    state = NetworkState(NetworkModel(), (Crash("B", 10.0),), seed=0)
    assert state.is_down("B", 10.0**9)


def test_scheduled_drop_and_duplicate_hit_exactly_the_indexed_transmission() -> None:
    schedule = (DropMessage("A", "B", 1), DuplicateMessage("A", "B", 2))
    fates = [len(a) for a in arrivals(NetworkState(NetworkModel(), schedule, seed=0), 4)]
    assert fates == [1, 0, 2, 1]


def test_removing_a_fault_does_not_reshuffle_other_draws() -> None:
    model = NetworkModel(LinkModel(latency=UniformLatency(1, 50), drop=0.1))
    with_drop = arrivals(NetworkState(model, (DropMessage("A", "B", 3),), seed=4), 50)
    without = arrivals(NetworkState(model, (), seed=4), 50)
    assert [a for i, a in enumerate(with_drop) if i != 3] == [a for i, a in enumerate(without) if i != 3]


def test_budget_exhaustion_applies_from_its_time_to_the_named_peer() -> None:
    state = NetworkState(NetworkModel(), (BudgetExhaustion("A", 50.0, peer="B"),), seed=0)
    assert not state.budget_exhausted("A", "B", 49.0)
    assert state.budget_exhausted("A", "B", 50.0)
    assert not state.budget_exhausted("A", "C", 60.0)
    assert not state.budget_exhausted("B", "A", 60.0)


def test_invalid_probabilities_are_refused() -> None:
    with pytest.raises(ValueError, match="drop"):
        LinkModel(drop=1.5)
    with pytest.raises(ValueError, match="bandwidth"):
        LinkModel(bandwidth=0)
