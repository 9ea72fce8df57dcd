"""Causal delivery for operation-based use (SPEC §8.1).

Each replica stamps the operations it makes with its delivered clock plus one event of its own; a
receiver applies an operation only once everything it causally depends on has been applied, buffers
those that arrive early, and drops duplicates (an operation whose own event it has already applied).
Operations are opaque bytes here (the coordinator ships CRDT deltas), so any payload works.

The early ones wait in a bounded buffer (`max_pending`, by default `DEFAULT_MAX_PENDING`): a peer
that sends only operations whose causes never come (a bug, or on purpose) would otherwise grow it
without limit. Past the bound the newest arrivals are dropped, logged as `PendingLimitReached` and
counted (`dropped`). Dropping loses nothing for good: a sender keeps every operation until the
receiver's delivered clock covers it, and sends it again at the next sync, when its causes may have
come.
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field, replace

from aura_choreo.errors import AuraChoreoError
from aura_choreo.orchestration.crdt import codec
from aura_choreo.orchestration.crdt.base import VectorClock

log = logging.getLogger("aura_choreo.crdt")

DEFAULT_MAX_PENDING = 10_000
"""How many early operations a `CausalBuffer` holds by default (one sync message may carry up to
`coordinator.MAX_OPERATIONS`, 100,000; a replica that missed a few syncs holds far fewer early ones)."""


class PendingLimitReached(AuraChoreoError):
    """Early operations dropped because the causal buffer already held `max_pending` of them (logged
    as a warning; the sender sends them again at a later sync)."""


@dataclass(frozen=True)
class Operation:
    """One operation: who made it, the clock it was made at (counting itself), and its payload."""

    origin: str
    clock: VectorClock
    payload: bytes

    def body(self) -> list[object]:
        return [self.origin, self.clock.body(), self.payload]

    @classmethod
    def from_body(cls, raw: object) -> Operation:
        items = codec.as_list(raw, "operation")
        if len(items) != 3 or not isinstance(items[2], bytes):
            raise codec.CrdtDecodeError("operation: expected [origin, clock, payload bytes]")
        op = cls(codec.as_str(items[0], "origin"), VectorClock.from_body(items[1]), items[2])
        if op.clock[op.origin] < 1:
            raise codec.CrdtDecodeError("operation: its clock must count its own event")
        return op


@dataclass(frozen=True)
class CausalBuffer:
    """What one replica has applied (`delivered`) and the operations waiting for their causes."""

    delivered: VectorClock = field(default_factory=VectorClock)
    pending: tuple[Operation, ...] = ()
    max_pending: int = DEFAULT_MAX_PENDING
    """At most this many operations wait for their causes (see the module doc)."""
    dropped: int = 0
    """Early operations dropped so far because `pending` was full."""

    def __post_init__(self) -> None:
        if type(self.max_pending) is not int or self.max_pending < 0:
            raise ValueError(f"max_pending must be an int >= 0, got {self.max_pending!r}")

    def stamp(self, origin: str, payload: bytes) -> tuple[CausalBuffer, Operation]:
        """A local operation: it counts as delivered here at once."""
        clock, _ = self.delivered.increment(origin)
        return replace(self, delivered=clock), Operation(origin, clock, payload)

    def _stale(self, op: Operation) -> bool:
        return op.clock[op.origin] <= self.delivered[op.origin]

    def receive(self, ops: tuple[Operation, ...] | list[Operation]) -> tuple[CausalBuffer, list[Operation]]:
        """Take operations from a peer; returns the new buffer and the operations now deliverable, in
        causal order. Duplicates (already applied, or already waiting) are dropped, and so are the
        newest early ones past `max_pending` (logged as `PendingLimitReached`, counted in `dropped`)."""
        waiting = list(self.pending)
        known = set(waiting)
        for op in ops:
            if not self._stale(op) and op not in known:
                waiting.append(op)
                known.add(op)
        counts, ready = _deliver(self.delivered.as_dict(), waiting)
        delivered = VectorClock.of(counts) if ready else self.delivered
        waiting = [op for op in waiting if op.clock[op.origin] > counts.get(op.origin, 0)]  # not stale
        excess = len(waiting) - self.max_pending
        if excess > 0:  # after delivery: whatever this batch made deliverable was delivered
            origins = ", ".join(sorted({op.origin for op in waiting[self.max_pending :]})[:5])
            log.warning(
                "%s",
                PendingLimitReached(
                    f"dropped {excess} operation(s) from {origins} waiting for causes not delivered "
                    f"here: the causal buffer holds at most {self.max_pending} (they come again at a "
                    "later sync)"
                ),
            )
            waiting = waiting[: self.max_pending]
        dropped = self.dropped + max(excess, 0)
        return replace(self, delivered=delivered, pending=tuple(waiting), dropped=dropped), ready


def _deliver(counts: dict[str, int], waiting: list[Operation]) -> tuple[dict[str, int], list[Operation]]:
    """Deliver what can be delivered of `waiting` on top of `counts` (updated in place); returns the
    counts and the operations delivered, in order.

    The order is that of repeated passes over `waiting`, each delivering, in list order, every
    operation ready when the pass reaches it (the order this buffer has always had), without the
    passes: each operation waits on one dependency it lacks (a `(replica, count)` the delivered clock
    must reach), indexed by replica, and is looked at again only when that replica's count moves. An
    operation found ready at position `j` while delivering the one at `i` is delivered in the same
    pass if `j > i`, else in the next: a heap of `(pass, position)` replays that. Each delivery moves
    one count (the operation's own origin, by one), so the work is near-linear in the operations and
    the entries of their clocks, where the passes were quadratic in the early operations.
    """
    blocked: dict[str, list[tuple[int, int]]] = {}  # replica -> heap of (count needed, position)
    due: list[tuple[int, int]] = []  # heap of (pass, position) of operations ready to deliver

    def wait_or_ready(at: int, current_pass: int, here: int) -> None:
        op = waiting[at]
        own = op.clock[op.origin]
        if own <= counts.get(op.origin, 0):
            return  # stale: an equal event was delivered first (the final filter drops it)
        needs = [(op.origin, own - 1), *((r, n) for r, n in op.clock.counts if r != op.origin)]
        lacking = next(((r, n) for r, n in needs if counts.get(r, 0) < n), None)
        if lacking is not None:
            heapq.heappush(blocked.setdefault(lacking[0], []), (lacking[1], at))
        else:
            heapq.heappush(due, (current_pass if at > here else current_pass + 1, at))

    for at in range(len(waiting)):
        wait_or_ready(at, 0, -1)
    ready: list[Operation] = []
    while due:
        current_pass, at = heapq.heappop(due)
        op = waiting[at]
        own = op.clock[op.origin]
        if own != counts.get(op.origin, 0) + 1:
            continue  # stale now: an equal event was delivered first
        ready.append(op)
        counts[op.origin] = own
        woken = blocked.get(op.origin, [])
        while woken and woken[0][0] <= own:
            wait_or_ready(heapq.heappop(woken)[1], current_pass, at)
    return counts, ready
