"""Worst-case budgets and capability manifests of one session (SPEC §4.4).

Per role and peer: the worst-case `flow_cost` and `leakage_budget` charged by the role's sends to that
peer in one session. Branches take the worst branch, counted loops multiply (symbolically when the
count is not a literal), `rec` and decided/open loops make a non-zero cost `unbounded`. A send's price
is the caller's `SendPrice`; by default its annotations' (`price_by_annotations`: its `flow_cost`, else
100 when it carries any annotation, else 1), and under a run-time policy the guard chain's profile for
it (`guards.policy_limits.send_price`: the policy's message guards first), so that `validate --policy`
counts what the guard chain will charge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from aura_choreo.projection.local_types import (
    AnnotationMap,
    Choose,
    Continue,
    If,
    LocalSeq,
    LocalType,
    Loop,
    Offer,
    Par,
    Rec,
    Send,
    Timeout,
    Try,
    iter_steps,
)
from aura_choreo.semantics.expressions import expr_text
from aura_choreo.semantics.expressions import int_value as literal_int
from aura_choreo.syntax.guard_annotations import read_guard_annotations

Monomial = tuple[str, ...]


@dataclass(frozen=True)
class Cost:
    """A non-negative cost: a sum of coefficient * product-of-loop-counts terms, or unbounded."""

    terms: tuple[tuple[Monomial, int], ...] = ()
    unbounded: bool = False

    @staticmethod
    def of(value: int) -> Cost:
        return Cost(((((), value),)) if value else ())

    @staticmethod
    def _from(terms: Mapping[Monomial, int], unbounded: bool = False) -> Cost:
        if unbounded:
            return UNBOUNDED
        return Cost(tuple(sorted((m, c) for m, c in terms.items() if c)))

    @property
    def is_zero(self) -> bool:
        return not self.terms and not self.unbounded

    @property
    def value(self) -> int | None:
        """The integer value when the cost is a known number."""
        if self.unbounded:
            return None
        if all(not m for m, _ in self.terms):
            return sum(c for _, c in self.terms)
        return None

    def __add__(self, other: Cost) -> Cost:
        if self.unbounded or other.unbounded:
            return UNBOUNDED
        merged = dict(self.terms)
        for m, c in other.terms:
            merged[m] = merged.get(m, 0) + c
        return Cost._from(merged)

    def times(self, count: int) -> Cost:
        if self.unbounded:
            return self if count else Cost()
        return Cost._from({m: c * count for m, c in self.terms})

    def times_symbol(self, symbol: str) -> Cost:
        if self.unbounded or self.is_zero:
            return self
        return Cost._from({tuple(sorted((*m, symbol))): c for m, c in self.terms})

    def worst(self, other: Cost) -> Cost:
        """An upper bound of both: termwise maximum (exact when one dominates)."""
        if self.unbounded or other.unbounded:
            return UNBOUNDED
        merged = dict(self.terms)
        for m, c in other.terms:
            merged[m] = max(merged.get(m, 0), c)
        return Cost._from(merged)

    def text(self) -> str:
        if self.unbounded:
            return "unbounded"
        if not self.terms:
            return "0"
        parts = []
        for m, c in reversed(self.terms):
            parts.append("*".join([*m, str(c)]) if m else str(c))
        return " + ".join(parts)

    def to_json(self) -> int | str:
        value = self.value
        return value if value is not None else self.text()


UNBOUNDED = Cost(unbounded=True)
ZERO = Cost()
Leakage = tuple[Cost, Cost, Cost]
NO_LEAKAGE: Leakage = (ZERO, ZERO, ZERO)
OBSERVERS = ("external", "neighbor", "group")


@dataclass(frozen=True)
class PeerBudget:
    """Worst-case flow cost and leakage of a role's sends to one peer in one session."""

    flow: Cost = ZERO
    leakage: Leakage = NO_LEAKAGE

    def __add__(self, other: PeerBudget) -> PeerBudget:
        return PeerBudget(self.flow + other.flow, _zip(self.leakage, other.leakage, Cost.__add__))

    def worst(self, other: PeerBudget) -> PeerBudget:
        return PeerBudget(self.flow.worst(other.flow), _zip(self.leakage, other.leakage, Cost.worst))

    def to_json(self) -> dict[str, object]:
        return {
            "flow_cost": self.flow.to_json(),
            "leakage": {k: c.to_json() for k, c in zip(OBSERVERS, self.leakage, strict=True)},
        }


def _zip(a: Leakage, b: Leakage, op: Callable[[Cost, Cost], Cost]) -> Leakage:
    return (op(a[0], b[0]), op(a[1], b[1]), op(a[2], b[2]))


@dataclass(frozen=True)
class RoleBudget:
    """A role's worst-case budgets per peer, and in total."""

    role: str
    peers: Mapping[str, PeerBudget] = field(default_factory=dict)

    @property
    def total(self) -> PeerBudget:
        result = PeerBudget()
        for budget in self.peers.values():
            result = result + budget
        return result

    def to_json(self) -> dict[str, object]:
        return {"peers": {p: b.to_json() for p, b in self.peers.items()}, "total": self.total.to_json()}


Usage = dict[str, PeerBudget]


@dataclass(frozen=True)
class SendCost:
    """What one send charges, its flow cost and its leakage `(external, neighbor, group)`, and the
    capabilities it requires of its sender (what the role's manifest unions)."""

    flow: int
    leakage: tuple[int, int, int] = (0, 0, 0)
    capabilities: tuple[str, ...] | None = None
    """None: this price does not say, and the send's `guard_capability` annotation counts."""


SendPrice = Callable[[Send], SendCost]
"""How a send is priced (see the module docstring)."""


def price_by_annotations(send: Send) -> SendCost:
    """A send's price by its annotations alone (SPEC §1.5): the price with no run-time policy."""
    read = read_guard_annotations(send.annotations)
    return SendCost(read.flow_cost, read.leakage, read.capabilities)


def send_flow_cost(annotations: AnnotationMap) -> int:
    """The flow cost of one send: `flow_cost`, else 100 if annotated at all, else 1 (SPEC §1.5)."""
    return read_guard_annotations(annotations).flow_cost


def _add(a: Usage, b: Usage) -> Usage:
    out = dict(a)
    for peer, budget in b.items():
        out[peer] = out[peer] + budget if peer in out else budget
    return out


def _worst(usages: Iterable[Usage]) -> Usage:
    out: Usage = {}
    for usage in usages:
        for peer, budget in usage.items():
            out[peer] = out[peer].worst(budget) if peer in out else budget
    return out


def _scale(usage: Usage, f: str | int | None) -> Usage:
    def one(c: Cost) -> Cost:
        if f is None:
            return UNBOUNDED if not c.is_zero else c
        return c.times(f) if isinstance(f, int) else c.times_symbol(f)

    return {
        p: PeerBudget(one(b.flow), (one(b.leakage[0]), one(b.leakage[1]), one(b.leakage[2])))
        for p, b in usage.items()
    }


def _usage(seq: LocalSeq, price: SendPrice) -> Usage:
    total: Usage = {}
    for step in seq:
        total = _add(total, _step_usage(step, price))
    return total


def _step_usage(step: object, price: SendPrice) -> Usage:
    if isinstance(step, Send):
        cost = price(step)
        external, neighbor, group = cost.leakage
        leakage = (Cost.of(external), Cost.of(neighbor), Cost.of(group))
        return {step.to: PeerBudget(Cost.of(cost.flow), leakage)}
    if isinstance(step, Choose | Offer | If):
        return _worst(_usage(b.body, price) for b in step.branches)
    if isinstance(step, Loop):
        count = literal_int(step.count)
        body = _usage(step.body, price)
        return _scale(body, max(count, 0) if count is not None else expr_text(step.count))
    if isinstance(step, Rec):
        body = _usage(step.body, price)
        repeats = any(isinstance(s, Continue) and s.label == step.label for s in iter_steps(step.body))
        return _scale(body, None) if repeats else body
    if isinstance(step, Par):
        total: Usage = {}
        for branch in step.branches:
            total = _add(total, _usage(branch, price))
        return total
    if isinstance(step, Timeout):
        return _add(_usage(step.body, price), _usage(step.alt, price))
    if isinstance(step, Try):
        return _add(_usage(step.body, price), _usage(step.comp, price))
    return {}


def role_budget(local_type: LocalType, price: SendPrice = price_by_annotations) -> RoleBudget:
    """Worst-case flow cost and leakage per peer for one session of `local_type`'s role, each send
    priced by `price` (default: by its annotations)."""
    return RoleBudget(local_type.role, dict(sorted(_usage(local_type.steps, price).items())))


def role_manifest(local_type: LocalType, price: SendPrice = price_by_annotations) -> tuple[str, ...]:
    """The capabilities the role needs, sorted: the union of what its sends require, each send read
    as `price` reads it (default: its `guard_capability` annotation; under a run-time policy the guard
    chain's profile, whose message guard may require other capabilities than the annotation).

    The one manifest: `validate` reports it and the guard chain checks it before a session starts,
    so it must hold every capability a send of the role will be checked for (SPEC §5.2).
    """
    needed: set[str] = set()
    for step in local_type.iter_steps():
        if isinstance(step, Send):
            required = price(step).capabilities
            if required is None:
                required = price_by_annotations(step).capabilities or ()
            needed.update(required)
    return tuple(sorted(needed))
