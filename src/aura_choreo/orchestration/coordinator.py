"""`CrdtCoordinator` (SPEC §8.2): one replica of a CRDT per device, synced with peers over the shipped
`crdt_sync.choreo`, in one of three modes:

- `state`: both sides send their whole value and merge;
- `delta`: the initiator sends the deltas the peer has not acknowledged (its local operations and the
  deltas it received, buffered; past `compact_after` buffered deltas they are joined into one), with
  its version; the responder answers with `delta_since` that version;
- `operations`: operations are stamped with vector clocks and delivered in causal order
  (`CausalBuffer`, holding at most `max_pending` early ones); each side sends the operations the
  other has not delivered.

Whatever the mode, a completed sync leaves both replicas with the join of their values. A join that
would encode past the byte format's limit (`codec.MAX_BYTES`; each replica's own operations stay under
it, two replicas together may not) fails the sync with `CrdtSizeError` and leaves the replica that
refused it as it was, so it can still send its value.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from aura_choreo.orchestration.crdt import CausalBuffer, Crdt, CrdtDecodeError, Operation, VectorClock, codec
from aura_choreo.orchestration.crdt.causal import DEFAULT_MAX_PENDING
from aura_choreo.orchestration.exchange import Device, ExchangeOptions, run_exchange, shipped_protocol
from aura_choreo.orchestration.retry import CoordinationError, RetryPolicy, run_with_retry
from aura_choreo.runtime import Endpoint

C = TypeVar("C", bound=Crdt)
Mode = Literal["state", "delta", "operations"]
MODES: tuple[Mode, ...] = ("state", "delta", "operations")
MAX_OPERATIONS = 100_000
DEFAULT_OPTIONS = ExchangeOptions()
DEFAULT_RETRY = RetryPolicy()


@dataclass
class SyncMetrics:
    """Counters of one coordinator (bytes are CRDT payload bytes this side put in messages)."""

    syncs: int = 0
    errors: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    latency_total: float = 0.0
    last_latency: float = 0.0
    compactions: int = 0
    dropped_operations: int = 0
    """Early operations the causal buffer dropped (full: `max_pending`); their senders send them again."""

    @property
    def mean_latency(self) -> float:
        return self.latency_total / self.syncs if self.syncs else 0.0


def encode_operations(ops: list[Operation]) -> bytes:
    return codec.pack("Operations", [op.body() for op in ops])


def decode_operations(data: bytes) -> list[Operation]:
    _, body = codec.unpack(data, "Operations")
    items = codec.as_list(body, "operations")
    if len(items) > MAX_OPERATIONS:
        raise CrdtDecodeError(f"{len(items)} operations in one message, past {MAX_OPERATIONS}")
    return [codec.checked(Operation.from_body, item, "operation") for item in items]


class CrdtCoordinator(Generic[C]):
    """The replica of CRDT `name` on `device`; `apply` changes it, `sync_with` reconciles with a peer."""

    def __init__(
        self,
        device: Device,
        name: str,
        initial: C,
        *,
        mode: Mode = "delta",
        compact_after: int = 32,
        max_pending: int = DEFAULT_MAX_PENDING,
        options: ExchangeOptions = DEFAULT_OPTIONS,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.device, self.name, self.mode = device, name, mode
        self.value: C = initial
        self.compact_after = max(1, compact_after)
        self.options = options
        self.metrics = SyncMetrics()
        self._kind: type[C] = type(initial)
        self._deltas: list[tuple[int, C]] = []  # (sequence number, delta), oldest first
        self._seq = 0
        self._acked: dict[str, int] = {}  # peer device -> last sequence number it holds
        self._causal = CausalBuffer(max_pending=max_pending)
        self._ops: list[Operation] = []
        self._peer_delivered: dict[str, VectorClock] = {}

    # Local changes ------------------------------------------------------------------------------
    def apply(self, op: Callable[[C], tuple[C, C]]) -> C:
        """Run a CRDT operation (e.g. `lambda c: c.increment("a")`) on the replica; returns its delta."""
        self.value, delta = op(self.value)
        if self.mode == "operations":
            self._causal, stamped = self._causal.stamp(self.device.name, delta.to_bytes())
            self._ops.append(stamped)
        elif self.mode == "delta":
            self._buffer(delta)
        return delta

    def _buffer(self, delta: C) -> None:
        if self.mode != "delta" or delta.is_empty():
            return
        self._seq += 1
        self._deltas.append((self._seq, delta))
        if len(self._deltas) > self.compact_after:
            self._compact()

    def _compact(self) -> None:
        """Drop the deltas every known peer holds; join the rest into one if there are still too many.

        A joined delta carries the newest sequence number, so a peer that had acknowledged part of it
        gets all of it again: harmless (merge is idempotent), and bounded by the threshold.
        """
        floor = min(self._acked.values(), default=0)
        self._deltas = [(seq, d) for seq, d in self._deltas if seq > floor]
        if len(self._deltas) > self.compact_after:
            self._deltas = [(self._seq, self._kind.join_all(d for _, d in self._deltas))]
        self.metrics.compactions += 1

    def _absorb(self, incoming: C) -> None:
        self.value = self.value.merge_within_limit(incoming)
        self._buffer(incoming)

    def _decode(self, data: bytes) -> C:
        self.metrics.bytes_received += len(data)
        return self._kind.from_bytes(data)

    def _sent(self, data: bytes) -> bytes:
        self.metrics.bytes_sent += len(data)
        return data

    # Syncing ------------------------------------------------------------------------------------
    async def sync_with(self, peer: CrdtCoordinator[C]) -> None:
        """One sync (this side initiates) over `crdt_sync.choreo`; both end with the join."""
        if peer.name != self.name or peer._kind is not self._kind:
            raise CoordinationError(
                f"cannot sync {self.name!r} ({self._kind.KIND}) with {peer.name!r} ({peer._kind.KIND})"
            )
        clock = time.perf_counter
        started = clock()
        initiator, responder = _HANDLERS[self.mode][0], _HANDLERS[peer.mode][1]
        try:
            await run_exchange(
                shipped_protocol("crdt_sync.choreo"),
                {
                    "Initiator": (self.device, lambda ep: initiator(self, ep, peer.device.name)),
                    "Responder": (peer.device, lambda ep: responder(peer, ep, self.device.name)),
                },
                self.options,
            )
        except BaseException:
            self.metrics.errors += 1
            raise
        elapsed = clock() - started
        self.metrics.syncs += 1
        self.metrics.last_latency = elapsed
        self.metrics.latency_total += elapsed

    async def sync_with_retry(self, peer: CrdtCoordinator[C], policy: RetryPolicy = DEFAULT_RETRY) -> None:
        """`sync_with`, retried on a silent peer or a transport failure (`RetriesExhausted` at the end)."""
        await run_with_retry(
            f"sync {self.name!r} with {peer.device.name!r}", lambda: self.sync_with(peer), policy
        )

    # The handlers, one pair per mode --------------------------------------------------------------
    async def _push_state(self, ep: Endpoint, peer: str) -> None:
        await ep.choose("state")
        await ep.send(
            "Responder", ep.message("PushState", crdt=self.name, state=self._sent(self.value.to_bytes()))
        )
        reply = await ep.recv("Responder", "PullState")
        self.value = self.value.merge_within_limit(self._decode(reply.state))

    async def _answer_state(self, ep: Endpoint, peer: str) -> None:
        push = await self._expect(ep, "PushState")
        self.value = self.value.merge_within_limit(self._decode(push.state))
        await ep.send("Initiator", ep.message("PullState", state=self._sent(self.value.to_bytes())))

    async def _push_delta(self, ep: Endpoint, peer: str) -> None:
        await ep.choose("delta")
        acked = self._acked.get(peer)
        if acked is None:  # never synced with this peer: it may lack anything
            delta = self.value
        else:
            delta = self._kind.join_all(d for seq, d in self._deltas if seq > acked)
        message = ep.message(
            "PushDelta",
            crdt=self.name,
            version=self._sent(self.value.version().to_bytes()),
            delta=self._sent(delta.to_bytes()),
        )
        await ep.send("Responder", message)
        reply = await ep.recv("Responder", "PullDelta")
        self._absorb(self._decode(reply.delta))
        self._acked[peer] = self._seq

    async def _answer_delta(self, ep: Endpoint, peer: str) -> None:
        push = await self._expect(ep, "PushDelta")
        version = VectorClock.from_bytes(push.version)
        self._absorb(self._decode(push.delta))
        answer = self.value.delta_since(version)
        message = ep.message(
            "PullDelta",
            version=self._sent(self.value.version().to_bytes()),
            delta=self._sent(answer.to_bytes()),
        )
        await ep.send("Initiator", message)

    def _undelivered(self, peer_delivered: VectorClock) -> list[Operation]:
        return [op for op in self._ops if op.clock[op.origin] > peer_delivered[op.origin]]

    def _deliver(self, ops: list[Operation]) -> None:
        causal, ready = self._causal.receive(ops)
        value = self.value
        for op in ready:  # all or nothing: refused operations must not count as delivered
            value = value.merge_within_limit(self._kind.from_bytes(op.payload))
        self.metrics.dropped_operations += causal.dropped - self._causal.dropped
        self._causal, self.value = causal, value
        self._ops.extend(ready)

    async def _push_operations(self, ep: Endpoint, peer: str) -> None:
        await ep.choose("operations")
        ops = self._undelivered(self._peer_delivered.get(peer, VectorClock()))
        message = ep.message(
            "PushOperations",
            crdt=self.name,
            delivered=self._sent(self._causal.delivered.to_bytes()),
            operations=self._sent(encode_operations(ops)),
        )
        await ep.send("Responder", message)
        reply = await ep.recv("Responder", "PullOperations")
        self.metrics.bytes_received += len(reply.operations) + len(reply.delivered)
        self._deliver(decode_operations(reply.operations))
        self._peer_delivered[peer] = VectorClock.from_bytes(reply.delivered)

    async def _answer_operations(self, ep: Endpoint, peer: str) -> None:
        push = await self._expect(ep, "PushOperations")
        self.metrics.bytes_received += len(push.operations) + len(push.delivered)
        theirs = VectorClock.from_bytes(push.delivered)
        self._deliver(decode_operations(push.operations))
        message = ep.message(
            "PullOperations",
            delivered=self._sent(self._causal.delivered.to_bytes()),
            operations=self._sent(encode_operations(self._undelivered(theirs))),
        )
        await ep.send("Initiator", message)

    async def _expect(self, ep: Endpoint, label: str) -> Any:
        got = await ep.offer("Initiator")
        message = ep.last_message
        if getattr(message, "crdt", self.name) != self.name:
            raise CoordinationError(
                f"{self.device.name}: a {got} for CRDT {message.crdt!r}, this is {self.name!r}"
            )
        if got != label:
            raise CoordinationError(
                f"{self.device.name} syncs {self.name!r} in {self.mode} mode; the peer sent {got}"
            )
        return message


Handler = Callable[[CrdtCoordinator[Any], Endpoint, str], Any]
_HANDLERS: dict[Mode, tuple[Handler, Handler]] = {
    "state": (CrdtCoordinator._push_state, CrdtCoordinator._answer_state),
    "delta": (CrdtCoordinator._push_delta, CrdtCoordinator._answer_delta),
    "operations": (CrdtCoordinator._push_operations, CrdtCoordinator._answer_operations),
}
"""Per mode, the initiator's and the responder's side of the exchange."""
