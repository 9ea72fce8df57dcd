"""A message for a receive that is already waiting is handed to it with the wake-up (issue 19), not
queued and looked up again; a receive that does not take it (cancelled, or another label) puts it
back at the head of its sender's queue, so nothing is lost and per-channel order holds."""

from __future__ import annotations

import asyncio

from aura_choreo.protocol import choreography
from aura_choreo.runtime.inbox import Inbox, Waiter
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.wire import KIND_DATA, WIRE_VERSION, Envelope
from aura_choreo.transports.inmemory import InMemoryTransport

STREAM = choreography(
    "choreography S { roles: A, B; A -> B: One(n: i64); A -> B: Two(n: i64); A -> B: Three(n: i64); }"
)


def envelope(label: str, seq: int) -> Envelope:
    return Envelope(WIRE_VERSION, KIND_DATA, "s", "S", "A", "B", label, seq, None)  # type: ignore[arg-type]


async def test_the_one_waiting_receive_is_handed_the_message_and_nothing_is_queued() -> None:
    inbox = Inbox()
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    inbox.waiters.append(Waiter(future, ("A",), None, None, True))
    inbox.push(envelope("One", 1))
    assert future.result() == (1, envelope("One", 1))
    assert not inbox.queues.get("A")


async def test_a_message_handed_back_goes_before_the_ones_that_arrived_after_it() -> None:
    inbox = Inbox()
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    inbox.waiters.append(Waiter(future, ("A",), None, None, True))
    inbox.push(envelope("One", 1))
    inbox.waiters.clear()
    inbox.push(envelope("Two", 2))
    inbox.give_back_from(future)  # type: ignore[arg-type]
    assert [e.label for _, e in inbox.queues["A"]] == ["One", "Two"]


async def test_a_receive_cancelled_after_the_hand_off_loses_no_message() -> None:
    transport = InMemoryTransport()
    session = STREAM.session()
    async with Node(transport, "A") as node_a, Node(transport, "B") as node_b:
        async with session.endpoint("A", node_a) as a, session.endpoint("B", node_b) as b:
            waiting = asyncio.create_task(b.recv("A"))
            await asyncio.sleep(0)  # B waits now
            await a.send("B", a.message("One", n=1))  # handed to the waiting receive...
            waiting.cancel()  # ...which is cancelled before it runs
            await asyncio.gather(waiting, return_exceptions=True)
            for label in ("Two", "Three"):
                await a.send("B", a.message(label, n=len(label)))
            assert [(await b.recv("A")).n for _ in range(3)] == [1, 3, 5]


async def test_a_receive_of_another_label_leaves_the_handed_message_for_the_step_it_belongs_to() -> None:
    transport = InMemoryTransport()
    session = STREAM.session()
    async with Node(transport, "A") as node_a, Node(transport, "B") as node_b:
        async with session.endpoint("A", node_a) as a, session.endpoint("B", node_b) as b:
            first = asyncio.create_task(b.recv("A", "One"))
            await asyncio.sleep(0)
            await a.send("B", a.message("One", n=7))
            assert (await first).n == 7
            for label in ("Two", "Three"):
                await a.send("B", a.message(label, n=len(label)))
            assert (await b.recv("A", "Two")).n == 3
            assert (await b.recv("A")).n == 5
