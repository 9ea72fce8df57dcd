"""Hypothesis strategies for simulation: link models, network models, fault schedules, seeds, behaviours.

Importing this module needs `hypothesis` (a dev dependency); nothing else in aura-choreo imports it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

from hypothesis import strategies as st

from aura_choreo.projection.local_types import Branch, Choose, LocalType
from aura_choreo.projection.protocol_like import ProtocolSource, resolve_protocol
from aura_choreo.transports.faults import (
    BudgetExhaustion,
    Crash,
    DropMessage,
    DuplicateMessage,
    FaultEvent,
    FaultSchedule,
    Partition,
)
from aura_choreo.transports.network import (
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


class ScriptedBehaviour:
    """A behaviour whose decisions follow a drawn script, so hypothesis can shrink them.

    The n-th decision of the role picks branch `script[n] % len(allowed)` among the branches whose
    guard holds (or cannot be evaluated); once the script is used up, decisions are random with
    `fallback_seed` (a decided loop therefore still ends with probability 1). Payloads, values and
    local actions are left to the default behaviour.
    """

    def __init__(self, choices: Mapping[str, tuple[Branch, ...]], script: Sequence[int], fallback_seed: int):
        self._choices = dict(choices)
        self._script = list(script)
        self._used = 0
        self._fallback = random.Random(fallback_seed)
        self.decisions: list[str] = []
        """The labels chosen so far, in order."""

    def __getattr__(self, name: str) -> Callable[[Mapping[str, object]], str]:
        choice = name[len("choose_") :] if name.startswith("choose_") else None
        if choice is None or choice not in self._choices:
            raise AttributeError(name)
        branches = self._choices[choice]
        return lambda env: self._decide(branches, env)

    def _decide(self, branches: tuple[Branch, ...], env: Mapping[str, object]) -> str:
        allowed = [b.label for b in branches if _guard_allows(b, env)] or [b.label for b in branches]
        if self._used < len(self._script):
            label = allowed[self._script[self._used] % len(allowed)]
            self._used += 1
        else:
            label = self._fallback.choice(allowed)
        self.decisions.append(label)
        return label


def _guard_allows(branch: Branch, env: Mapping[str, object]) -> bool:
    if branch.guard is None:
        return True
    from aura_choreo.runtime.expressions import ExpressionError, evaluate

    try:
        return bool(evaluate(branch.guard, dict(env)))
    except ExpressionError:
        return True


def _choices_by_role(local_types: Mapping[str, LocalType]) -> dict[str, dict[str, tuple[Branch, ...]]]:
    table: dict[str, dict[str, tuple[Branch, ...]]] = {}
    for role, local_type in local_types.items():
        for step in local_type.iter_steps():
            if isinstance(step, Choose) and step.choice and step.expr is None:
                table.setdefault(role, {})[step.choice] = step.branches
    return table


def behaviours(
    protocol: ProtocolSource, *, max_decisions: int = 12
) -> st.SearchStrategy[dict[str, ScriptedBehaviour]]:
    """Role -> `ScriptedBehaviour` for every role of `protocol` that makes named choices.

    `protocol` is a loaded Protocol or a role -> LocalType mapping. Roles without choices are left
    out (the default behaviour runs them).
    """
    table = _choices_by_role(resolve_protocol(protocol).local_types)
    scripts = st.lists(st.integers(0, 15), max_size=max_decisions)
    return st.fixed_dictionaries(
        {
            role: st.builds(ScriptedBehaviour, st.just(choices), scripts, st.integers(0, 2**16))
            for role, choices in table.items()
        }
    )
