"""Shrinking: reduce a failing fault schedule to a minimal one that still fails.

Delta debugging (Zeller's ddmin) removes events until no single event can go, then each remaining event
is simplified in place (shorter partitions, fewer isolated roles, rounder times) while the run still
fails. The predicate is "this schedule still fails"; results are cached, so each candidate runs once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from aura_choreo.transports.faults import Crash, FaultEvent, Partition

T = TypeVar("T")


@dataclass(frozen=True)
class ShrinkResult(Generic[T]):
    """The minimal failing sequence found and how many candidates were tried."""

    items: tuple[T, ...]
    original_size: int
    tests_run: int


class _Oracle(Generic[T]):
    def __init__(self, still_fails: Callable[[tuple[T, ...]], bool], budget: int) -> None:
        self._still_fails = still_fails
        self._cache: dict[tuple[T, ...], bool] = {}
        self.budget = budget
        self.tests_run = 0

    def __call__(self, items: tuple[T, ...]) -> bool:
        if items not in self._cache:
            if self.tests_run >= self.budget:
                return False
            self.tests_run += 1
            self._cache[items] = self._still_fails(items)
        return self._cache[items]


def _chunks(items: tuple[T, ...], n: int) -> list[tuple[T, ...]]:
    size = math.ceil(len(items) / n)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _ddmin(items: tuple[T, ...], fails: _Oracle[T]) -> tuple[T, ...]:
    n = 2
    while len(items) >= 2:
        chunks = _chunks(items, n)
        reduced = False
        for chunk in chunks:
            if fails(chunk):
                items, n, reduced = chunk, 2, True
                break
        if not reduced:
            for i in range(len(chunks)):
                complement = tuple(x for j, c in enumerate(chunks) if j != i for x in c)
                if fails(complement):
                    items, n, reduced = complement, max(n - 1, 2), True
                    break
        if not reduced:
            if n >= len(items):
                break
            n = min(2 * n, len(items))
    if len(items) == 1 and fails(()):
        return ()
    return items


def _simplify_each(
    items: tuple[T, ...], fails: _Oracle[T], simplify: Callable[[T], Iterable[T]]
) -> tuple[T, ...]:
    progress = True
    while progress:
        progress = False
        for index, item in enumerate(items):
            for candidate in simplify(item):
                trial = (*items[:index], candidate, *items[index + 1 :])
                if candidate != item and fails(trial):
                    items, progress = trial, True
                    break
            if progress:
                break
    return items


def shrink(
    items: Sequence[T],
    still_fails: Callable[[tuple[T, ...]], bool],
    *,
    simplify: Callable[[T], Iterable[T]] | None = None,
    max_tests: int = 1000,
) -> ShrinkResult[T]:
    """A 1-minimal sub-sequence of `items` (order kept) for which `still_fails` holds.

    Raises ValueError if `items` itself does not fail. `max_tests` bounds the number of predicate calls;
    when it is reached the best sequence found so far is returned.
    """
    start = tuple(items)
    fails = _Oracle(still_fails, max_tests)
    if not fails(start):
        raise ValueError("the schedule to shrink does not fail")
    result = _ddmin(start, fails)
    if simplify is not None:
        result = _simplify_each(result, fails, simplify)
    return ShrinkResult(result, len(start), fails.tests_run)


def simplify_fault(event: FaultEvent) -> Iterator[FaultEvent]:
    """Simpler variants of one fault event, simplest first."""
    if isinstance(event, Partition):
        if len(event.roles) > 1:
            for i in range(len(event.roles)):
                yield replace(event, roles=event.roles[:i] + event.roles[i + 1 :])
        duration = event.end_ms - event.start_ms
        if duration > 1:
            yield replace(event, end_ms=event.start_ms + math.floor(duration / 2))
        if event.start_ms != math.floor(event.start_ms) or event.end_ms != math.ceil(event.end_ms):
            yield replace(event, start_ms=math.floor(event.start_ms), end_ms=math.ceil(event.end_ms))
    elif isinstance(event, Crash):
        if event.restart_ms is None:
            yield replace(event, restart_ms=event.at_ms + 1)
        if not event.keep_journal:
            yield replace(event, keep_journal=True)
        if event.at_ms != math.floor(event.at_ms):
            yield replace(event, at_ms=math.floor(event.at_ms))
