"""Flow budgets (SPEC §5.3 step 2): a limit per (context, peer) and epoch, charged before each send."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from aura_choreo.errors import BudgetExhausted

DEFAULT_FLOW_LIMIT = 1024
"""Flow budget of one (context, peer) per epoch unless configured."""


@dataclass(frozen=True)
class FlowBudget:
    """A replicated budget: `limit` to spend per `epoch`, `spent` so far in that epoch.

    Merge is min(limit) and max(epoch) with `spent` taken from the newer epoch (max of both when the
    epochs are equal). When the epochs are equal this is exactly min/max/max; when they differ, taking
    the stale replica's `spent` into the new epoch would undo the rotation, so it is not. The merge is a
    join on (min limit) x (lexicographic (epoch, spent)): commutative, associative, idempotent.
    """

    limit: int = DEFAULT_FLOW_LIMIT
    spent: int = 0
    epoch: int = 0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.spent)

    def can_pay(self, cost: int) -> bool:
        """Whether `cost` fits: spent + cost <= limit."""
        return self.spent + cost <= self.limit

    def charged(self, cost: int) -> FlowBudget:
        """This budget after paying `cost` (the caller checks `can_pay` first)."""
        if cost < 0 or not self.can_pay(cost):
            raise ValueError(f"cannot charge {cost} to {self}")
        return FlowBudget(self.limit, self.spent + cost, self.epoch)  # not `replace`: this is per send

    def rotated(self, epoch: int) -> FlowBudget:
        """This budget in `epoch`: a newer epoch starts with nothing spent."""
        if epoch <= self.epoch:
            return self
        return replace(self, spent=0, epoch=epoch)

    def merge(self, other: FlowBudget) -> FlowBudget:
        """Join two replicas of the same budget."""
        newer = max((self.epoch, self.spent), (other.epoch, other.spent))
        return FlowBudget(limit=min(self.limit, other.limit), spent=newer[1], epoch=newer[0])


FlowKey = tuple[str, str]
"""(context, peer)."""


class FlowLedger:
    """The flow budgets one device holds, one per (context, peer).

    Epochs rotate explicitly (`rotate_epoch`) or, with `epoch_seconds`, from the injected clock.
    A charge is never refunded: `spent` only grows within an epoch, which keeps replicas mergeable.
    """

    def __init__(
        self,
        *,
        default_limit: int = DEFAULT_FLOW_LIMIT,
        limits: Mapping[str, int] | None = None,
        epoch_seconds: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if epoch_seconds is not None and clock is None:
            raise ValueError("epoch_seconds needs a clock")
        self.default_limit = default_limit
        self._peer_limits = dict(limits or {})
        self._epoch_seconds = epoch_seconds
        self._clock = clock
        self._manual_epoch = 0
        self._budgets: dict[FlowKey, FlowBudget] = {}

    @property
    def epoch(self) -> int:
        if self._epoch_seconds is not None and self._clock is not None:
            return max(self._manual_epoch, int(self._clock() // self._epoch_seconds))
        return self._manual_epoch

    def rotate_epoch(self, epoch: int | None = None) -> int:
        """Move to the next epoch (or to `epoch`); every budget starts it with nothing spent."""
        self._manual_epoch = self.epoch + 1 if epoch is None else max(epoch, self.epoch)
        return self._manual_epoch

    def budget(self, context: str, peer: str) -> FlowBudget:
        """The current budget for (context, peer), rotated to the current epoch."""
        key = (context, peer)
        current = self._budgets.get(key)
        epoch = self.epoch
        if current is None:
            limit = self._peer_limits.get(peer, self.default_limit)
            current = self._budgets[key] = FlowBudget(limit, 0, epoch)
        elif epoch > current.epoch:
            current = self._budgets[key] = current.rotated(epoch)
        return current

    def pay(self, context: str, peer: str, cost: int) -> FlowBudget | None:
        """Pay `cost` if it fits (the budget after it), else None with nothing changed: `charge`
        without building the denial (the hot path asks this first)."""
        budget = self.budget(context, peer)
        spent = budget.spent + cost
        if spent > budget.limit or cost < 0:
            return None
        charged = self._budgets[(context, peer)] = FlowBudget(budget.limit, spent, budget.epoch)
        return charged

    def charge(
        self,
        context: str,
        peer: str,
        cost: int,
        *,
        role: str | None = None,
        session: str | None = None,
        step: str | None = None,
    ) -> FlowBudget:
        """Pay `cost` or raise `BudgetExhausted` (and change nothing)."""
        budget = self.budget(context, peer)
        if not budget.can_pay(cost):
            raise BudgetExhausted(
                f"flow budget for peer {peer} in context {context} exhausted: "
                f"spent {budget.spent} + cost {cost} > limit {budget.limit} (epoch {budget.epoch})",
                role=role,
                session=session,
                step=step,
            )
        charged = budget.charged(cost)
        self._budgets[(context, peer)] = charged
        return charged

    def merge_replica(self, context: str, peer: str, replica: FlowBudget) -> FlowBudget:
        """Merge another replica's view of the (context, peer) budget into ours."""
        merged = self.budget(context, peer).merge(replica)
        # A replica already in a newer epoch moves this ledger there too.
        self._manual_epoch = max(self._manual_epoch, merged.epoch)
        self._budgets[(context, peer)] = merged
        return merged

    def restore(self, context: str, peer: str, epoch: int, spent: int) -> FlowBudget:
        """Take back what a journal recorded as spent on (context, peer) in `epoch` (a restarted device
        resumes its budgets rather than starting them afresh); the limit stays this ledger's."""
        recorded = replace(self.budget(context, peer), epoch=epoch, spent=spent)
        return self.merge_replica(context, peer, recorded)

    def snapshot(self) -> dict[FlowKey, FlowBudget]:
        return dict(self._budgets)
