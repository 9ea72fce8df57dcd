"""One endpoint's inbox: received envelopes queued per sender, in arrival order, plus control messages.

Messages that arrive before the role asks for them wait here (none is lost, FIFO per sender); a role
that asks before the message arrives waits on a future that the arrival completes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Collection

from aura_choreo.runtime.wire import KIND_CONTROL, Envelope

Queued = tuple[int, Envelope]
"""(arrival number, envelope): the arrival number orders messages across senders (`recv_any`)."""


class InboxTimeout(Exception):
    """The wait's deadline passed (turned into `PeerTimeout` by the endpoint)."""


class Inbox:
    """Per-sender FIFO queues and the waiters of one endpoint."""

    __slots__ = ("_arrivals", "_waiters", "control", "queues")

    def __init__(self) -> None:
        self.queues: dict[str, deque[Queued]] = {}
        self.control: deque[Envelope] = deque()
        self._waiters: list[tuple[asyncio.Future[None], Collection[str] | None]] = []
        self._arrivals = 0

    def push(self, envelope: Envelope) -> None:
        """Queue an arrived envelope and wake whoever waits for its sender."""
        if envelope.kind == KIND_CONTROL:
            self.control.append(envelope)
            sender = None
        else:
            sender = envelope.sender
            queue = self.queues.get(sender)
            if queue is None:
                queue = self.queues[sender] = deque()
            self._arrivals += 1
            queue.append((self._arrivals, envelope))
        for future, wanted in self._waiters:
            if not future.done() and (wanted is None or sender is None or sender in wanted):
                future.set_result(None)

    def pending(self) -> int:
        """How many data envelopes are queued."""
        return sum(len(q) for q in self.queues.values())

    async def wait(self, senders: Collection[str] | None, deadline: float | None) -> None:
        """Wait until an envelope from one of `senders` (None: anyone) or a control message arrives.

        Raises `InboxTimeout` if loop time `deadline` passes first.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (future, senders)
        self._waiters.append(entry)
        timer = loop.call_at(deadline, _expire, future) if deadline is not None else None
        try:
            await future
        finally:
            self._waiters.remove(entry)
            if timer is not None:
                timer.cancel()


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(InboxTimeout())
