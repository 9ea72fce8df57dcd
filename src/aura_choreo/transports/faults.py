"""Fault schedules: what goes wrong, and when, in a simulated run.

A schedule is a tuple of frozen events, so it can be generated (hypothesis), shrunk (`testing.shrink`)
and written out as a replayable JSON fixture (`testing.fixtures`). Times are in milliseconds of
virtual time from the start of the run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Partition:
    """Isolate `roles` (from each other and from everyone else) during [start_ms, end_ms)."""

    roles: tuple[str, ...]
    start_ms: float
    end_ms: float

    def cuts(self, src: str, dst: str, now_ms: float) -> bool:
        """Whether this partition blocks src -> dst at `now_ms`."""
        return (
            self.start_ms <= now_ms < self.end_ms and src != dst and (src in self.roles or dst in self.roles)
        )


@dataclass(frozen=True)
class Crash:
    """`role`'s node stops at `at_ms`; it restarts at `restart_ms` (never if None).

    With `keep_journal` the node comes back with its state (an outage: its memory survives, so it resumes
    where it stopped); without (a wipe), the role's memory is lost and it restarts from its journaled
    checkpoint (`aura_choreo.resilience.checkpoint`); a wiped role that never restarts is gone.
    """

    role: str
    at_ms: float
    restart_ms: float | None = None
    keep_journal: bool = True

    def down_at(self, now_ms: float) -> bool:
        """Whether the node is down at `now_ms`."""
        return self.at_ms <= now_ms and (self.restart_ms is None or now_ms < self.restart_ms)


@dataclass(frozen=True)
class DropMessage:
    """Lose the `index`-th transmission (0-based, retransmissions included) on the link src -> dst."""

    src: str
    dst: str
    index: int


@dataclass(frozen=True)
class DuplicateMessage:
    """Deliver the `index`-th transmission on src -> dst twice."""

    src: str
    dst: str
    index: int


@dataclass(frozen=True)
class BudgetExhaustion:
    """From `at_ms` on, `role`'s flow budget towards `peer` (every peer if None) is spent."""

    role: str
    at_ms: float
    peer: str | None = None


FaultEvent = Partition | Crash | DropMessage | DuplicateMessage | BudgetExhaustion
FaultSchedule = tuple[FaultEvent, ...]
