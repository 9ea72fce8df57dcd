"""Delta-debugging shrinker: minimal failing sub-schedules, simplification, budget."""

from __future__ import annotations

import random

import pytest

from aura_choreo.testing.shrink import shrink, simplify_fault
from aura_choreo.transports.faults import Crash, DropMessage, FaultEvent, Partition


def test_shrinks_to_the_single_culprit() -> None:
    items = tuple(range(100))
    result = shrink(items, lambda xs: 42 in xs)
    assert result.items == (42,)
    assert result.original_size == 100


def test_shrinks_to_an_interacting_pair_in_order() -> None:
    items = tuple(range(64))
    result = shrink(items, lambda xs: 7 in xs and 50 in xs)
    assert result.items == (7, 50)


def test_result_is_one_minimal() -> None:
    rng = random.Random(1)
    items = tuple(rng.randrange(1000) for _ in range(60))

    def fails(xs: tuple[int, ...]) -> bool:
        return sum(1 for x in xs if x % 7 == 0) >= 3

    result = shrink(items, fails)
    assert fails(result.items)
    assert len(result.items) == 3
    for i in range(len(result.items)):
        assert not fails(result.items[:i] + result.items[i + 1 :])


def test_empty_schedule_when_failure_does_not_need_any_event() -> None:
    assert shrink((1, 2, 3), lambda xs: True).items == ()


def test_refuses_a_schedule_that_does_not_fail() -> None:
    with pytest.raises(ValueError, match="does not fail"):
        shrink((1, 2), lambda xs: False)


def test_each_candidate_is_tested_at_most_once() -> None:
    seen: list[tuple[int, ...]] = []

    def fails(xs: tuple[int, ...]) -> bool:
        seen.append(xs)
        return 3 in xs

    result = shrink(tuple(range(20)), fails)
    assert len(seen) == len(set(seen)) == result.tests_run


def test_budget_bounds_the_number_of_predicate_calls() -> None:
    calls = 0

    def fails(xs: tuple[int, ...]) -> bool:
        nonlocal calls
        calls += 1
        return 5 in xs and 77 in xs

    result = shrink(tuple(range(100)), fails, max_tests=10)
    assert calls <= 10
    assert 5 in result.items and 77 in result.items


def test_simplification_shortens_a_partition_to_what_matters() -> None:
    # the failure needs B isolated during [100, 140)
    def fails(events: tuple[FaultEvent, ...]) -> bool:
        return any(
            isinstance(e, Partition) and "B" in e.roles and e.start_ms <= 100 and e.end_ms >= 140
            for e in events
        )

    start = (DropMessage("A", "B", 0), Partition(("A", "B", "C"), 100.0, 1000.5), Crash("C", 5.0))
    result = shrink(start, fails, simplify=simplify_fault)
    assert len(result.items) == 1
    partition = result.items[0]
    assert isinstance(partition, Partition)
    assert partition.roles == ("B",)
    assert 140 <= partition.end_ms < 1000


def test_simplify_fault_makes_crashes_milder() -> None:
    variants = list(simplify_fault(Crash("A", 10.5, None, keep_journal=False)))
    assert Crash("A", 10.5, 11.5, keep_journal=False) in variants
    assert Crash("A", 10.5, None, keep_journal=True) in variants
    assert list(simplify_fault(DropMessage("A", "B", 1))) == []
