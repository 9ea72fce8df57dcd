"""A message for a receive that is already waiting is handed to it with the wake-up (issue 19), not
queued and looked up again; a receive that does not take it (cancelled, or another label) puts it
back at the head of its sender's queue, so nothing is lost and per-channel order holds."""

from __future__ import annotations

import asyncio

import pytest

from aura_choreo.protocol import choreography
from aura_choreo.runtime.inbox import Inbox, InboxTimeout, Waiter
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
    inbox.taker = Waiter(future, ("A",), None, None)
    inbox.push(envelope("One", 1))
    assert future.result() == (1, envelope("One", 1))
    assert not inbox.queues.get("A")


async def test_a_message_handed_back_goes_before_the_ones_that_arrived_after_it() -> None:
    inbox = Inbox()
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    inbox.taker = Waiter(future, ("A",), None, None)
    inbox.push(envelope("One", 1))
    inbox.taker = None
    inbox.push(envelope("Two", 2))
    inbox.give_back_from(future)  # type: ignore[arg-type]
    assert [e.label for _, e in inbox.queues["A"]] == ["One", "Two"]


async def test_with_another_wait_pending_the_taker_is_woken_and_the_message_queued() -> None:
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    taken: asyncio.Future[object] = loop.create_future()
    other: asyncio.Future[object] = loop.create_future()
    inbox.taker = Waiter(taken, ("A",), None, None)
    inbox.waiters.append(Waiter(other, ("A", "C"), None, None))
    inbox.push(envelope("One", 1))
    assert (taken.result(), other.result()) == (None, None)  # both look at the inbox again
    assert [e.label for _, e in inbox.queues["A"]] == ["One"]


async def test_a_taker_past_its_deadline_times_out() -> None:
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    future: asyncio.Future[object] = loop.create_future()
    inbox.taker = Waiter(future, ("A",), loop.time() + 0.01, 0.01)
    inbox.arm(loop, loop.time() + 0.01)
    with pytest.raises(InboxTimeout):
        await future


async def test_two_receives_of_one_endpoint_waiting_at_once_each_get_their_message() -> None:
    session = choreography(
        "choreography P { roles: A, B, C; parallel { A -> C: X(n: i64); | B -> C: Y(n: i64); } }"
    ).session()
    transport = InMemoryTransport()
    async with Node(transport, "A") as na, Node(transport, "B") as nb, Node(transport, "C") as nc:
        async with session.endpoint("A", na) as a, session.endpoint("B", nb) as b:
            async with session.endpoint("C", nc) as c:
                both = asyncio.gather(c.recv("A"), c.recv("B"))
                await asyncio.sleep(0)  # the first is the inbox's taker, the second waits in the list
                await b.send("C", b.message("Y", n=2))
                await a.send("C", a.message("X", n=1))
                assert [m.n for m in await both] == [1, 2]


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
