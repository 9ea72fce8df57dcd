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

    def _ready(self, op: Operation) -> bool:
        if op.clock[op.origin] != self.delivered[op.origin] + 1:
            return False
        return all(count <= self.delivered[r] for r, count in op.clock.counts if r != op.origin)

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
        delivered = self.delivered
        ready: list[Operation] = []
        progress = True
        while progress:
            progress = False
            state = CausalBuffer(delivered)
            for op in list(waiting):
                if state._stale(op):
                    waiting.remove(op)
                elif state._ready(op):
                    ready.append(op)
                    waiting.remove(op)
                    delivered = delivered.merge(op.clock)
                    state = CausalBuffer(delivered)
                    progress = True
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
