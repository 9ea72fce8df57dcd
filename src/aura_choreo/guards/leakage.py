"""Leakage budgets (SPEC §5.3 step 3): metadata leakage per observer class over a rolling window."""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from aura_choreo.errors import LeakageExceeded

Clock = Callable[[], float]
"""Seconds, from any origin; simulation passes its virtual clock."""

DEFAULT_WINDOW_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class LeakageVector:
    """Leakage to each observer class: `[external, neighbor, group]`."""

    external: int = 0
    neighbor: int = 0
    group: int = 0

    def __add__(self, other: LeakageVector) -> LeakageVector:
        return LeakageVector(
            self.external + other.external, self.neighbor + other.neighbor, self.group + other.group
        )

    def __sub__(self, other: LeakageVector) -> LeakageVector:
        return LeakageVector(
            self.external - other.external, self.neighbor - other.neighbor, self.group - other.group
        )

    def fits_within(self, limit: LeakageVector) -> bool:
        return (
            self.external <= limit.external and self.neighbor <= limit.neighbor and self.group <= limit.group
        )

    def first_exceeded(self, limit: LeakageVector) -> str | None:
        """The first observer class over `limit`, or None."""
        for name in ("external", "neighbor", "group"):
            if getattr(self, name) > getattr(limit, name):
                return name
        return None

    def scaled(self, factors: LeakageVector) -> LeakageVector:
        """Each observer class multiplied by its factor."""
        return LeakageVector(
            self.external * factors.external, self.neighbor * factors.neighbor, self.group * factors.group
        )

    def is_zero(self) -> bool:
        return self == ZERO_LEAKAGE

    def as_list(self) -> list[int]:
        return [self.external, self.neighbor, self.group]


ZERO_LEAKAGE = LeakageVector()
DEFAULT_LEAKAGE_LIMITS = LeakageVector(1000, 500, 100)


@dataclass(frozen=True)
class LeakageCharge:
    """A charge made to one ledger; handed back to `rollback` to undo it."""

    ledger_id: int
    charge_id: int
    context: str
    amount: LeakageVector
    at: float
    layer: str = ""
    """The name of the ledger (the privacy layer) that made it."""


class LeakageLedger:
    """Per-context leakage budgets over a rolling window; charges older than the window expire."""

    def __init__(
        self,
        *,
        limits: LeakageVector = DEFAULT_LEAKAGE_LIMITS,
        context_limits: Mapping[str, LeakageVector] | None = None,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        clock: Clock = time.time,
        name: str = "leakage",
    ) -> None:
        self.name = name
        self.limits = limits
        self._context_limits = dict(context_limits or {})
        self.window_seconds = window_seconds
        self._clock = clock
        self._ledger_id = id(self)
        self._next_charge = itertools.count(1)
        self._charges: dict[str, deque[LeakageCharge]] = {}
        # Running sum of each context's charges in the window, so a charge costs O(expired), not O(all).
        self._totals: dict[str, LeakageVector] = {}

    def limit(self, context: str) -> LeakageVector:
        return self._context_limits.get(context, self.limits)

    def spent(self, context: str) -> LeakageVector:
        """Leakage charged in `context` within the window ending now."""
        charges = self._charges.get(context)
        if not charges:
            return ZERO_LEAKAGE
        horizon = self._clock() - self.window_seconds
        total = self._totals[context]
        while charges and charges[0].at <= horizon:
            total = total - charges.popleft().amount
        self._totals[context] = total
        return total

    def charge(
        self,
        context: str,
        amount: LeakageVector,
        *,
        role: str | None = None,
        session: str | None = None,
        step: str | None = None,
    ) -> LeakageCharge:
        """Charge `amount` or raise `LeakageExceeded` (and charge nothing)."""
        spent = self.spent(context)
        limit = self.limit(context)
        over = (spent + amount).first_exceeded(limit)
        if over is not None:
            raise LeakageExceeded(
                f"{self.name} budget in context {context} exceeded for {over} observers: "
                f"spent {getattr(spent, over)} + {getattr(amount, over)} > limit {getattr(limit, over)}",
                role=role,
                session=session,
                step=step,
            )
        charge = LeakageCharge(
            self._ledger_id, next(self._next_charge), context, amount, self._clock(), self.name
        )
        if not amount.is_zero():
            self._charges.setdefault(context, deque()).append(charge)
            self._totals[context] = spent + amount
        return charge

    def rollback(self, charge: LeakageCharge) -> None:
        """Undo a charge made by this ledger (used when a later privacy layer denies)."""
        if charge.ledger_id != self._ledger_id:
            raise ValueError("charge belongs to another ledger")
        charges = self._charges.get(charge.context)
        if charges is not None and charge in charges:
            charges.remove(charge)
            self._totals[charge.context] = self._totals[charge.context] - charge.amount


LayerCost = Callable[[LeakageVector, str], LeakageVector]
"""A privacy layer's cost of a send: from the base cost (the message's annotation) and the send's
budget context (before the layer's `scope` maps it to the context it charges)."""


def base_cost(base: LeakageVector, context: str) -> LeakageVector:
    """The default cost: the base cost, whatever the context."""
    return base


def same_context(context: str) -> str:
    """The default scope: the layer budgets the send's own context."""
    return context


@dataclass(frozen=True)
class LeakageLayer:
    """One privacy layer: a ledger, how it names the context of a send (`scope`), and what the send
    costs in it (`cost`, from the base cost and that context)."""

    ledger: LeakageLedger
    scope: Callable[[str], str] = same_context
    cost: LayerCost = base_cost

    @property
    def name(self) -> str:
        return self.ledger.name


@dataclass(frozen=True)
class PrivacyReceipt:
    """What one send was charged, layer by layer: `charges[i]` is layer i+1's (its context and cost)."""

    base: LeakageVector
    charges: tuple[LeakageCharge, ...]

    def __iter__(self) -> Iterator[LeakageCharge]:
        return iter(self.charges)

    def __len__(self) -> int:
        return len(self.charges)

    def signed_layers(self) -> tuple[tuple[str, tuple[int, int, int]], ...]:
        """(layer name, charge) per layer, for the send's signed receipt (empty when nothing leaked)."""
        if all(c.amount.is_zero() for c in self.charges):
            return ()
        return tuple((c.layer, (c.amount.external, c.amount.neighbor, c.amount.group)) for c in self.charges)

    def layers(self) -> list[tuple[int, str, str, LeakageVector]]:
        """(index from 1, layer name, context charged, amount) per layer."""
        return [(i, c.layer, c.context, c.amount) for i, c in enumerate(self.charges, start=1)]


NOTHING_CHARGED = PrivacyReceipt(ZERO_LEAKAGE, ())
"""The receipt of a send no privacy layer charged (a profile with no leakage)."""


class LayeredLeakage:
    """Privacy budgets in layers: each layer charges its own cost in its own context; a charge must fit
    every layer; a denial rolls back the layers already charged and names the layer that refused."""

    def __init__(self, layers: Sequence[LeakageLayer]) -> None:
        self.layers = tuple(layers)

    def charge(
        self,
        context: str,
        amount: LeakageVector,
        *,
        role: str | None = None,
        session: str | None = None,
        step: str | None = None,
    ) -> PrivacyReceipt:
        """Charge every layer, or none: on a denial the layers already charged are rolled back, and the
        `LeakageExceeded` names the layer (index from 1, name) and carries what was rolled back."""
        made: list[tuple[LeakageLedger, LeakageCharge]] = []
        index = 0  # of the layer being charged, from 1
        try:
            for layer in self.layers:
                index += 1
                cost = layer.cost(amount, context)
                scoped = layer.scope(context)
                charge = layer.ledger.charge(scoped, cost, role=role, session=session, step=step)
                made.append((layer.ledger, charge))
        except LeakageExceeded as denied:
            for ledger, charge in reversed(made):
                ledger.rollback(charge)
            name = self.layers[index - 1].name
            if len(self.layers) > 1:
                raise _in_layer(denied, index, name, tuple(c for _, c in made)) from None
            denied.layer, denied.layer_index = name, index  # its message names the ledger already
            raise
        return PrivacyReceipt(amount, tuple(charge for _, charge in made))


def _in_layer(
    denied: LeakageExceeded, index: int, name: str, rolled_back: tuple[LeakageCharge, ...]
) -> LeakageExceeded:
    """`denied`, its message naming the layer and the charges given back."""
    undone = f"; rolled back {len(rolled_back)} earlier layer charge(s)" if rolled_back else ""
    error = LeakageExceeded(
        f"privacy layer {index} `{name}`: {denied.detail}{undone}",
        role=denied.role,
        session=denied.session,
        step=denied.step,
    )
    error.layer, error.layer_index, error.rolled_back = name, index, rolled_back
    return error
