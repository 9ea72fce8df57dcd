"""`profile_protocol`: a protocol's cost on its worst-case path, and how it grows (SPEC §7 `profile`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aura_choreo.errors import ChoreographyError
from aura_choreo.profile.count import Tally, count_body
from aura_choreo.profile.guard_cost import GuardCost, measure_guard_cost
from aura_choreo.profile.scaling import DEFAULT_SIZES, fit_complexity
from aura_choreo.protocol import Protocol
from aura_choreo.verify import role_budget
from aura_choreo.verify.budgets import RoleBudget


@dataclass(frozen=True)
class ScalePoint:
    """The counts measured with these parameter values."""

    params: dict[str, int]
    messages: int
    rounds: int
    bytes: int

    def to_json(self) -> dict[str, object]:
        return {"params": self.params, "messages": self.messages, "rounds": self.rounds, "bytes": self.bytes}


@dataclass(frozen=True)
class ProtocolProfile:
    """Everything `profile` reports about one protocol."""

    name: str
    params: dict[str, int]
    tally: Tally
    scaling: tuple[ScalePoint, ...]
    complexity: dict[str, str]
    per_parameter: dict[str, dict[str, str]]
    budgets: Mapping[str, RoleBudget]
    guard: GuardCost | None = None
    roles: tuple[str, ...] = field(default=())

    @property
    def messages(self) -> int:
        return self.tally.messages

    @property
    def rounds(self) -> int:
        return self.tally.rounds

    def to_json(self) -> dict[str, object]:
        t = self.tally
        return {
            "name": self.name,
            "params": self.params,
            "messages": t.messages,
            "rounds": t.rounds,
            "bytes": t.bytes,
            "unbounded": sorted(t.unbounded),
            "per_role": {
                role: {
                    "sent": t.sent[role],
                    "received": t.received[role],
                    "bytes": t.bytes_sent[role],
                    "bytes_received": t.bytes_received[role],
                }
                for role in self.roles
            },
            "per_pair": [
                {"from": a, "to": b, "messages": n, "bytes": t.pair_bytes[(a, b)]}
                for (a, b), n in sorted(t.pairs.items())
            ],
            "scaling": [p.to_json() for p in self.scaling],
            "complexity": self.complexity,
            "per_parameter": self.per_parameter,
            "budgets": {role: b.to_json() for role, b in self.budgets.items()},
            "guard_chain": self.guard.to_json() if self.guard is not None else None,
        }


def scalable_parameters(protocol: Protocol) -> list[str]:
    """Family sizes and integer parameters that `bind` accepts (the protocol's growth dimensions)."""
    return sorted(protocol.params)


def _measure(protocol: Protocol, values: Mapping[str, int]) -> ScalePoint | None:
    try:
        bound = protocol.bind(**values)
    except ChoreographyError:
        return None  # e.g. an index that only fits larger families: this size is not a valid instance
    tally = count_body(bound.body, bound.params)
    return ScalePoint(dict(values), tally.messages, tally.rounds, tally.bytes)


def _fit(points: Sequence[ScalePoint], key: str) -> dict[str, str]:
    sizes = [p.params[key] for p in points]
    return {
        "messages": fit_complexity(sizes, [p.messages for p in points]),
        "rounds": fit_complexity(sizes, [p.rounds for p in points]),
        "bytes": fit_complexity(sizes, [p.bytes for p in points]),
    }


def profile_protocol(
    protocol: Protocol, *, sizes: Mapping[str, Sequence[int]] | None = None, guard: bool = True
) -> ProtocolProfile:
    """Profile `protocol` as bound; growth is measured with every parameter set to each size together
    (`sizes`: per parameter, default 2, 4, 8, 16), and with each parameter alone."""
    tally = count_body(protocol.body, protocol.params)
    keys = scalable_parameters(protocol)
    chosen = {k: tuple((sizes or {}).get(k, DEFAULT_SIZES)) for k in keys}
    points: list[ScalePoint] = []
    complexity = {"messages": "O(1)", "rounds": "O(1)", "bytes": "O(1)"}
    per_parameter: dict[str, dict[str, str]] = {}
    if keys:
        steps = max(len(v) for v in chosen.values())
        for i in range(steps):
            values = {k: v[min(i, len(v) - 1)] for k, v in chosen.items()}
            point = _measure(protocol, values)
            if point is not None:
                points.append(point)
        complexity = _fit(points, keys[0]) if points else {k: "unknown" for k in complexity}
        for key in keys:
            alone = [p for p in (_measure(protocol, {key: n}) for n in chosen[key]) if p is not None]
            per_parameter[key] = _fit(alone, key)
    budgets = {role: role_budget(lt) for role, lt in protocol.local_types().items()}
    cost = measure_guard_cost(protocol) if guard else None
    return ProtocolProfile(
        protocol.qualified_name,
        dict(protocol.params),
        tally,
        tuple(points),
        complexity,
        per_parameter,
        budgets,
        cost,
        protocol.roles,
    )
