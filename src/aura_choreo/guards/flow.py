"""Flow budgets (SPEC §5.3 step 2): a limit per (context, peer) and epoch, charged before each send."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from aura_choreo.errors import BudgetExhausted
from aura_choreo.verify.limits import DEFAULT_FLOW_LIMIT

__all__ = ["DEFAULT_FLOW_LIMIT", "FlowBudget", "FlowLedger"]


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

    Each budget is held as plain ints (a `[limit, spent, epoch]` cell) and charged in place: a send
    pays with an addition, not a new `FlowBudget`. `budget` and `snapshot` give the values. A cell, once
    made, is never replaced (merges and restores write into it), so a guard route may hold the cell of
    its (context, peer) and charge it directly (`cell`) while `clocked` is False and `manual_epoch` is
    not past the cell's epoch.
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
        self.clocked = epoch_seconds is not None
        """Whether epochs rotate with the clock (a held cell is then never charged directly)."""
        self.manual_epoch = 0
        """The epoch `rotate_epoch` (or a merged replica) moved to; a held cell of an older epoch is
        charged through `spend`, which rotates it."""
        self._cells: dict[FlowKey, list[int]] = {}

    @property
    def epoch(self) -> int:
        if self._epoch_seconds is not None and self._clock is not None:
            return max(self.manual_epoch, int(self._clock() // self._epoch_seconds))
        return self.manual_epoch

    def rotate_epoch(self, epoch: int | None = None) -> int:
        """Move to the next epoch (or to `epoch`); every budget starts it with nothing spent."""
        self.manual_epoch = self.epoch + 1 if epoch is None else max(epoch, self.epoch)
        return self.manual_epoch

    def _cell(self, context: str, peer: str) -> list[int]:
        """The `[limit, spent, epoch]` cell of (context, peer), rotated to the current epoch."""
        key = (context, peer)
        cell = self._cells.get(key)
        epoch = self.manual_epoch if self._epoch_seconds is None else self.epoch
        if cell is None:
            cell = self._cells[key] = [self._peer_limits.get(peer, self.default_limit), 0, epoch]
        elif epoch > cell[2]:
            cell[1], cell[2] = 0, epoch  # a newer epoch starts with nothing spent
        return cell

    def cell(self, context: str, peer: str) -> list[int]:
        """The live `[limit, spent, epoch]` cell of (context, peer), rotated to the current epoch (see
        the class docstring for when its holder may charge it directly)."""
        return self._cell(context, peer)

    def budget(self, context: str, peer: str) -> FlowBudget:
        """The current budget for (context, peer), rotated to the current epoch."""
        limit, spent, epoch = self._cell(context, peer)
        return FlowBudget(limit, spent, epoch)

    def spend(self, context: str, peer: str, cost: int) -> tuple[int, int] | None:
        """Pay `cost` if it fits: (epoch, spent after it); else None with nothing changed. `charge`
        without building the denial or a `FlowBudget` (the hot path asks this first)."""
        cell = self._cells.get((context, peer))
        if cell is None or self._epoch_seconds is not None or self.manual_epoch > cell[2]:
            cell = self._cell(context, peer)  # new, or maybe in a newer epoch: `_cell` rotates it
        spent = cell[1] + cost
        if spent > cell[0] or cost < 0:
            return None
        cell[1] = spent
        return cell[2], spent

    def pay(self, context: str, peer: str, cost: int) -> FlowBudget | None:
        """`spend`, returning the budget after it."""
        paid = self.spend(context, peer, cost)
        return None if paid is None else self.budget(context, peer)

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
        charged = budget.charged(cost)  # raises ValueError on a negative cost, changing nothing
        self._cells[(context, peer)][1] = charged.spent
        return charged

    def merge_replica(self, context: str, peer: str, replica: FlowBudget) -> FlowBudget:
        """Merge another replica's view of the (context, peer) budget into ours."""
        merged = self.budget(context, peer).merge(replica)
        # A replica already in a newer epoch moves this ledger there too.
        self.manual_epoch = max(self.manual_epoch, merged.epoch)
        self._cell(context, peer)[:] = (merged.limit, merged.spent, merged.epoch)  # in place: cells are held
        return merged

    def restore(self, context: str, peer: str, epoch: int, spent: int) -> FlowBudget:
        """Take back what a journal recorded as spent on (context, peer) in `epoch` (a restarted device
        resumes its budgets rather than starting them afresh); the limit stays this ledger's."""
        recorded = replace(self.budget(context, peer), epoch=epoch, spent=spent)
        return self.merge_replica(context, peer, recorded)

    def snapshot(self) -> dict[FlowKey, FlowBudget]:
        return {key: FlowBudget(*cell) for key, cell in self._cells.items()}
