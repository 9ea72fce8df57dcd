"""An independent, deliberately naive replay of counterexamples against role machines.

It re-implements the product semantics (FIFO channel per ordered pair, coins ignored for agreement
since the tests' counterexamples replay each coin step as written) so a counterexample reported by
the explorer is checked step by step by code that does not share the explorer's tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aura_choreo.projection.local_types import LocalStep, LocalType
from aura_choreo.verify import Machine, compile_machine
from aura_choreo.verify.fsm import Action, ActionKind
from aura_choreo.verify.trace import TraceStep


def lt(role: str, *steps: LocalStep, protocol: str = "P") -> LocalType:
    """A hand-built local type."""
    return LocalType(protocol, role, tuple(steps))


def machines_of(*types: LocalType) -> dict[str, Machine]:
    return {t.role: compile_machine(t) for t in types}


@dataclass
class Config:
    """A global configuration: each role's state and each channel's queue of labels."""

    states: dict[str, int]
    channels: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def queue(self, sender: str, receiver: str) -> list[str]:
        return self.channels.setdefault((sender, receiver), [])


def replay(machines: dict[str, Machine], steps: tuple[TraceStep, ...]) -> Config:
    """Apply each step, asserting that the role really can take it; return the final configuration."""
    config = Config({role: m.initial for role, m in machines.items()})
    for number, step in enumerate(steps, 1):
        m = machines[step.role]
        here = config.states[step.role]
        if step.kind == "discard":
            queue = config.queue(step.peer, step.role)
            assert queue, f"step {number}: nothing to discard"
            queue.pop(0)
            continue
        candidates = [
            m.transitions[index]
            for index in m.outgoing[here]
            if _as_step(step.role, m.transitions[index].action) == step
        ]
        assert candidates, f"step {number} ({step.text()}) is not possible in state {here} of {step.role}"
        if step.kind == "send":
            config.queue(step.role, step.peer).append(step.label)
        elif step.kind == "recv":
            queue = config.queue(step.peer, step.role)
            assert queue and queue[0] == step.label, f"step {number}: {step.label} is not at the head"
            queue.pop(0)
        config.states[step.role] = candidates[0].target
    return config


def _as_step(role: str, a: Action) -> TraceStep:
    if a.kind is ActionKind.SEND:
        return TraceStep(role, "send", a.peer, a.label)
    if a.kind is ActionKind.RECV:
        return TraceStep(role, "recv", a.peer, a.label)
    if a.kind is ActionKind.COIN:
        return TraceStep(role, "coin", a.key, a.label)
    return TraceStep(role, "tau", "", a.label)


def enabled(machines: dict[str, Machine], config: Config) -> list[str]:
    """Every move possible in `config` (channels unbounded, coins free), as text."""
    moves = []
    for role, m in machines.items():
        for index in m.outgoing[config.states[role]]:
            a = m.transitions[index].action
            if a.kind is ActionKind.RECV:
                queue = config.queue(a.peer, role)
                if not queue or queue[0] != a.label:
                    continue
            moves.append(f"{role}:{a.text()}")
        for peer, label in m.discard_map.get(config.states[role], frozenset()):
            queue = config.queue(peer, role)
            if queue and queue[0] == label:
                moves.append(f"{role}:discard {label}")
    return moves


def all_final(machines: dict[str, Machine], config: Config) -> bool:
    return all(config.states[role] in m.finals for role, m in machines.items())
