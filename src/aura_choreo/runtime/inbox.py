"""One endpoint's inbox: received envelopes queued per sender, in arrival order, plus control messages.

Messages that arrive before the role asks for them wait here (none is lost, FIFO per sender); a role
that asks before the message arrives waits on a future that the arrival completes.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Collection

import msgspec

from aura_choreo.runtime.wire import KIND_CONTROL, Envelope

Queued = tuple[int, Envelope]
"""(arrival number, envelope): the arrival number orders messages across senders (`recv_any`)."""


class InboxTimeout(Exception):
    """The wait's deadline passed (turned into `PeerTimeout` by the endpoint)."""


class Inbox:
    """Per-sender FIFO queues and the waiters of one endpoint."""

    __slots__ = ("_arrivals", "_timer", "control", "open", "queues", "taker", "timer_at", "waiters")

    def __init__(self) -> None:
        self.queues: dict[str, deque[Queued]] = {}
        self.control: deque[Envelope] = deque()
        self.waiters: list[Waiter] = []
        """The pending waits but `taker` (`add_waiter` adds one; a receive adds its own inline when
        `taker` is in use)."""
        self.taker: Waiter | None = None
        """A receive waiting for the next message of its one sender (set and cleared by the receive
        itself, no list kept per wait): when it is the only wait, `push` hands it that message."""
        self._arrivals = 0
        self._timer: asyncio.TimerHandle | None = None
        self.timer_at = math.inf
        """When the deadline timer fires (infinity: no timer); a wait due earlier must `arm` it."""
        self.open = True
        """False once its endpoint has left (`close`): a sender holding it must go through the node."""

    def push(self, envelope: Envelope) -> None:
        """Queue an arrived envelope and wake whoever waits for its sender; or hand it straight to
        `taker`, when that is the only wait, for this sender, and nothing from that sender is queued
        before it (so per-channel order holds)."""
        waiters = self.waiters
        taker = self.taker
        if envelope.kind == KIND_CONTROL:
            self.control.append(envelope)
            sender = None
        else:
            sender = envelope.sender
            arrivals = self._arrivals = self._arrivals + 1
            queue = self.queues.get(sender)
            if taker is not None and not queue and not waiters:
                future = taker.future
                if not future.done() and sender in taker.senders:  # type: ignore[operator]
                    future.set_result((arrivals, envelope))  # no queueing, no second look at the inbox
                    return
            if queue is None:
                queue = self.queues[sender] = deque()
            queue.append((arrivals, envelope))
        if taker is not None:
            self._wake(taker, sender)
        for waiter in waiters:
            self._wake(waiter, sender)

    @staticmethod
    def _wake(waiter: Waiter, sender: str | None) -> None:
        """Wake `waiter` (to look at the inbox again) if it waits for `sender` (None: a control
        message, which every wait hears)."""
        future = waiter.future
        if not future.done() and (waiter.senders is None or sender is None or sender in waiter.senders):
            future.set_result(None)

    def give_back(self, queued: Queued) -> None:
        """Put an envelope handed to a waiter (`push`) back at the head of its sender's queue: the
        receive that got it did not take it (another label, a saga verdict first, cancelled). Wakes
        the waiters for that sender, which may have started waiting while it was handed over."""
        sender = queued[1].sender
        queue = self.queues.get(sender)
        if queue is None:
            queue = self.queues[sender] = deque()
        queue.appendleft(queued)
        if self.taker is not None:
            self._wake(self.taker, sender)
        for waiter in self.waiters:
            self._wake(waiter, sender)

    def give_back_from(self, future: asyncio.Future[Queued | None]) -> None:
        """`give_back` what a waiter's `future` was handed, if anything (its receive was cancelled)."""
        if future.done() and not future.cancelled() and future.exception() is None:
            queued = future.result()
            if queued is not None:
                self.give_back(queued)

    def pending(self) -> int:
        """How many data envelopes are queued."""
        return sum(len(q) for q in self.queues.values())

    async def wait(self, senders: Collection[str] | None, deadline: float | None) -> None:
        """Wait until an envelope from one of `senders` (None: anyone) or a control message arrives.

        Raises `InboxTimeout` if loop time `deadline` passes first.
        """
        waiter = self.add_waiter(senders, deadline)
        try:
            await waiter.future
        finally:
            self.remove_waiter(waiter)

    def add_waiter(
        self,
        senders: Collection[str] | None,
        deadline: float | None,
        timeout: float | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> Waiter:
        """Register a waiter (the caller awaits `waiter.future`, then calls `remove_waiter`)."""
        if loop is None:
            loop = asyncio.get_running_loop()
        waiter = Waiter(loop.create_future(), senders, deadline, timeout)
        self.waiters.append(waiter)
        if deadline is not None and deadline < self.timer_at:
            self.arm(loop, deadline)
        return waiter

    def remove_waiter(self, waiter: Waiter) -> None:
        self.waiters.remove(waiter)

    def arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        """Make the deadline timer fire at loop time `when` (callers only ever move it earlier)."""
        # One timer per inbox, not one per wait: most waits end long before their deadline, and
        # a later deadline never needs an earlier timer (it re-arms itself when it fires).
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._expire, loop)
        self.timer_at = when

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        self.timer_at = math.inf
        now = loop.time()
        upcoming: float | None = None
        waiters = self.waiters if self.taker is None else [self.taker, *self.waiters]
        for waiter in waiters:
            if waiter.deadline is None or waiter.future.done():
                continue
            if waiter.deadline <= now:
                waiter.future.set_exception(InboxTimeout())
            elif upcoming is None or waiter.deadline < upcoming:
                upcoming = waiter.deadline
        if upcoming is not None:
            self.arm(loop, upcoming)

    def close(self) -> None:
        """Cancel the deadline timer (the endpoint has finished)."""
        self.open = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self.timer_at = math.inf


class Waiter(msgspec.Struct):
    """One pending wait: its future, the senders it waits for, its deadline (loop time) and timeout.
    The future's result is None (the waiter looks at the inbox again), or for the `Inbox.taker`, the
    `Queued` envelope `push` handed it.

    A Struct rather than a plain class: one is made per wait, and a Struct is built without running
    Python code.
    """

    future: asyncio.Future[Queued | None]
    senders: Collection[str] | None
    deadline: float | None
    timeout: float | None
