"""Hypothesis strategies for simulation: link models, network models, fault schedules, seeds.

Importing this module needs `hypothesis` (a dev dependency); nothing else in aura-choreo imports it.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from aura_choreo.testing.faults import (
    BudgetExhaustion,
    Crash,
    DropMessage,
    DuplicateMessage,
    FaultEvent,
    FaultSchedule,
    Partition,
)
from aura_choreo.testing.network import (
    ExponentialLatency,
    FixedLatency,
    Latency,
    LinkModel,
    NetworkModel,
    UniformLatency,
)

seeds = st.integers(min_value=0, max_value=2**32 - 1)
"""Simulation seeds."""

_times = st.integers(min_value=0, max_value=2_000).map(float)


@st.composite
def latencies(draw: st.DrawFn, max_ms: float = 50.0) -> Latency:
    """Fixed, uniform or exponential latencies of at most about `max_ms`."""
    kind = draw(st.sampled_from(["fixed", "uniform", "exponential"]))
    if kind == "fixed":
        return FixedLatency(draw(st.floats(0.0, max_ms)))
    if kind == "uniform":
        low = draw(st.floats(0.0, max_ms))
        return UniformLatency(low, draw(st.floats(low, max_ms)))
    return ExponentialLatency(draw(st.floats(0.1, max_ms / 2)), draw(st.floats(0.0, max_ms / 2)))


def link_models(
    *, max_drop: float = 0.3, max_duplicate: float = 0.3, reorder: bool = True
) -> st.SearchStrategy[LinkModel]:
    """Link models with loss and duplication up to the given probabilities."""
    return st.builds(
        LinkModel,
        latency=latencies(),
        bandwidth=st.none() | st.floats(10_000.0, 10_000_000.0),
        drop=st.floats(0.0, max_drop),
        duplicate=st.floats(0.0, max_duplicate),
        reorder=st.booleans() if reorder else st.just(False),
    )


def network_models(
    *, max_drop: float = 0.3, max_duplicate: float = 0.3, reorder: bool = True
) -> st.SearchStrategy[NetworkModel]:
    """Network models whose every link follows one drawn link model."""
    return link_models(max_drop=max_drop, max_duplicate=max_duplicate, reorder=reorder).map(NetworkModel)


def fault_events(roles: Sequence[str], *, crashes: bool = True) -> st.SearchStrategy[FaultEvent]:
    """Single fault events over `roles` (at least two)."""
    names = st.sampled_from(list(roles))

    @st.composite
    def partition(draw: st.DrawFn) -> Partition:
        isolated = draw(st.lists(names, min_size=1, max_size=max(1, len(roles) - 1), unique=True))
        start = draw(_times)
        return Partition(tuple(isolated), start, start + draw(st.integers(1, 5_000)))

    @st.composite
    def crash(draw: st.DrawFn) -> Crash:
        at = draw(_times)
        restart = draw(st.none() | st.integers(1, 5_000).map(lambda d: at + d))
        return Crash(draw(names), at, restart, draw(st.booleans()))

    @st.composite
    def on_link(draw: st.DrawFn, kind: type[DropMessage] | type[DuplicateMessage]) -> FaultEvent:
        src = draw(names)
        dst = draw(names.filter(lambda r: r != src))
        return kind(src, dst, draw(st.integers(0, 20)))

    options: list[st.SearchStrategy[FaultEvent]] = [
        partition(),
        on_link(DropMessage),
        on_link(DuplicateMessage),
        st.builds(BudgetExhaustion, names, _times, st.none() | names),
    ]
    if crashes:
        options.append(crash())
    return st.one_of(options)


def fault_schedules(
    roles: Sequence[str], *, max_events: int = 8, crashes: bool = True
) -> st.SearchStrategy[FaultSchedule]:
    """Fault schedules over `roles` with at most `max_events` events."""
    return st.lists(fault_events(roles, crashes=crashes), max_size=max_events).map(tuple)


def benign_fault_schedules(roles: Sequence[str], *, max_events: int = 8) -> st.SearchStrategy[FaultSchedule]:
    """Schedules a reliable session layer must mask: dropped and duplicated frames, short partitions."""
    names = st.sampled_from(list(roles))

    @st.composite
    def event(draw: st.DrawFn) -> FaultEvent:
        src = draw(names)
        dst = draw(names.filter(lambda r: r != src))
        kind = draw(st.sampled_from(["drop", "duplicate", "partition"]))
        if kind == "drop":
            return DropMessage(src, dst, draw(st.integers(0, 10)))
        if kind == "duplicate":
            return DuplicateMessage(src, dst, draw(st.integers(0, 10)))
        start = draw(_times)
        return Partition((src,), start, start + draw(st.integers(1, 200)))

    return st.lists(event(), max_size=max_events).map(tuple)
