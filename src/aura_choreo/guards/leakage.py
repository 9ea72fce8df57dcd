"""Leakage budgets (SPEC §5.3 step 3): metadata leakage per observer class over a rolling window."""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
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
        charge = LeakageCharge(self._ledger_id, next(self._next_charge), context, amount, self._clock())
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


@dataclass(frozen=True)
class LeakageLayer:
    """One privacy layer: a ledger and how it names the context of a send (each layer refines it)."""

    ledger: LeakageLedger
    scope: Callable[[str], str] = lambda context: context


class LayeredLeakage:
    """Privacy budgets in layers: a charge must fit every layer; a denial rolls back earlier layers."""

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
    ) -> tuple[LeakageCharge, ...]:
        """Charge every layer, or none: on a denial the layers already charged are rolled back."""
        made: list[tuple[LeakageLedger, LeakageCharge]] = []
        try:
            for layer in self.layers:
                charge = layer.ledger.charge(
                    layer.scope(context), amount, role=role, session=session, step=step
                )
                made.append((layer.ledger, charge))
        except LeakageExceeded:
            for ledger, charge in reversed(made):
                ledger.rollback(charge)
            raise
        return tuple(charge for _, charge in made)
