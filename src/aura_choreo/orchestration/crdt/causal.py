"""Causal delivery for operation-based use (SPEC §8.1).

Each replica stamps the operations it makes with its delivered clock plus one event of its own; a
receiver applies an operation only once everything it causally depends on has been applied, buffers
those that arrive early, and drops duplicates (an operation whose own event it has already applied).
Operations are opaque bytes here (the coordinator ships CRDT deltas), so any payload works.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aura_choreo.orchestration.crdt import codec
from aura_choreo.orchestration.crdt.base import VectorClock


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

    def stamp(self, origin: str, payload: bytes) -> tuple[CausalBuffer, Operation]:
        """A local operation: it counts as delivered here at once."""
        clock, _ = self.delivered.increment(origin)
        return CausalBuffer(clock, self.pending), Operation(origin, clock, payload)

    def _ready(self, op: Operation) -> bool:
        if op.clock[op.origin] != self.delivered[op.origin] + 1:
            return False
        return all(count <= self.delivered[r] for r, count in op.clock.counts if r != op.origin)

    def _stale(self, op: Operation) -> bool:
        return op.clock[op.origin] <= self.delivered[op.origin]

    def receive(self, ops: tuple[Operation, ...] | list[Operation]) -> tuple[CausalBuffer, list[Operation]]:
        """Take operations from a peer; returns the new buffer and the operations now deliverable, in
        causal order. Duplicates (already applied, or already waiting) are dropped."""
        waiting = list(self.pending)
        for op in ops:
            if not self._stale(op) and op not in waiting:
                waiting.append(op)
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
        return CausalBuffer(delivered, tuple(waiting)), ready
