"""The simulated transport: frames cross a seeded, faulty network on the event loop's clock.

Run it on `aura_choreo.testing.virtual_time.VirtualTimeEventLoop` and a whole session takes no wall
time. Every decision (loss, duplication, latency, partitions, crashes) comes from a
`transports.network.NetworkState`, so the same seed and schedule give the same deliveries, byte for byte.
Addresses are the names the network model and the fault schedule use (the harness uses role names).
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from dataclasses import dataclass

from aura_choreo.errors import TransportError
from aura_choreo.transports.base import (
    DEFAULT_MAX_FRAME,
    Address,
    FrameHandler,
    Link,
    LocalLink,
    Transport,
    check_frame_size,
)
from aura_choreo.transports.faults import FaultSchedule
from aura_choreo.transports.network import NetworkModel, NetworkState


@dataclass(frozen=True)
class FrameEvent:
    """One frame-level event: `sent`, `delivered` or `lost` (with the reason), at a virtual time in ms."""

    kind: str
    src: Address
    dst: Address
    time_ms: float
    size: int
    reason: str | None = None


@dataclass
class TransportStats:
    """Counters of one simulated transport."""

    sent: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0


class SimulatedTransport(Transport):
    """An unreliable transport driven by a network model and a fault schedule on the loop's clock."""

    reliable = False

    def __init__(
        self,
        model: NetworkModel | None = None,
        schedule: FaultSchedule = (),
        *,
        seed: int = 0,
        max_frame: int = DEFAULT_MAX_FRAME,
        record_frames: bool = False,
    ) -> None:
        self.network = NetworkState(model or NetworkModel(), schedule, seed)
        self.max_frame = max_frame
        self.stats = TransportStats()
        self.frames: list[FrameEvent] = []
        self._record = record_frames
        self._handlers: dict[Address, FrameHandler] = {}
        self._waiting: dict[Address, deque[tuple[Address, bytes]]] = {}
        self._in_flight: list[tuple[float, int, Address, Address, bytes]] = []
        self._sequence = 0
        self._epoch: float | None = None

    def now_ms(self) -> float:
        """Virtual milliseconds since this transport first saw the loop (the fault schedule's zero)."""
        loop_now = asyncio.get_running_loop().time()
        if self._epoch is None:
            self._epoch = loop_now
        return (loop_now - self._epoch) * 1000.0

    def attach(self, address: Address, on_frame: FrameHandler) -> Link:
        if address in self._handlers:
            raise TransportError(f"address {address!r} is already attached")
        self.now_ms()  # the schedule's zero is the first attach at the latest
        self._handlers[address] = on_frame
        waiting = self._waiting.pop(address, None)
        if waiting:
            loop = asyncio.get_running_loop()
            for sender, frame in waiting:
                loop.call_soon(self._hand_over, sender, address, frame)
        return LocalLink(self, address)

    def detach(self, address: Address) -> None:
        self._handlers.pop(address, None)

    def _note(
        self, kind: str, src: Address, dst: Address, time_ms: float, size: int, reason: str | None = None
    ) -> None:
        if self._record:
            self.frames.append(FrameEvent(kind, src, dst, time_ms, size, reason))

    def post_frame(self, src: Address, dst: Address, frame: bytes) -> None:
        check_frame_size(frame, self.max_frame, sender=src, to=dst)
        now = self.now_ms()
        self.stats.sent += 1
        self._note("sent", src, dst, now, len(frame))
        fate = self.network.transmit(src, dst, len(frame), now)
        if not fate.arrivals_ms:
            self.stats.lost += 1
            self._note("lost", src, dst, now, len(frame), fate.lost_because)
            return
        self.stats.duplicated += len(fate.arrivals_ms) - 1
        loop = asyncio.get_running_loop()
        assert self._epoch is not None
        for arrival in fate.arrivals_ms:
            self._sequence += 1
            heapq.heappush(self._in_flight, (arrival, self._sequence, src, dst, frame))
            loop.call_at(self._epoch + arrival / 1000.0, self._deliver_until, arrival, self._sequence)

    def _deliver_until(self, arrival_ms: float, sequence: int) -> None:
        """Deliver every frame up to and including the one whose timer fired, in (arrival, send) order.

        The loop's timer heap does not order equal deadlines, and float clocks are inexact, so the
        frames' own heap decides: a frame's timer delivers it and everything due no later.
        """
        key = (arrival_ms, sequence)
        while self._in_flight and self._in_flight[0][:2] <= key:
            arrival, _, src, dst, frame = heapq.heappop(self._in_flight)
            reason = self.network.blocked(src, dst, arrival)
            if reason is not None:
                self.stats.lost += 1
                self._note("lost", src, dst, arrival, len(frame), reason)
                continue
            self._hand_over(src, dst, frame)

    def _hand_over(self, src: Address, dst: Address, frame: bytes) -> None:
        handler = self._handlers.get(dst)
        if handler is None:
            self._waiting.setdefault(dst, deque()).append((src, frame))
            return
        self.stats.delivered += 1
        self._note("delivered", src, dst, self.now_ms(), len(frame))
        handler(src, frame)
