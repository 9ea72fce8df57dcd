"""The in-memory hand-off straight into a peer's inbox (issue 19): after the first two envelopes go
through the nodes, the sender puts the next ones into the peer endpoint's inbox itself, for as long as
that inbox is open and no node attached or detached; otherwise it goes through the nodes again."""

from __future__ import annotations

import pytest

from aura_choreo.errors import ProtocolViolation
from aura_choreo.protocol import choreography
from aura_choreo.runtime.node import Node
from aura_choreo.transports.inmemory import InMemoryTransport

STREAM = choreography(
    "choreography S { roles: A, B; A -> B: One(n: i64); A -> B: Two(n: i64); A -> B: Three(n: i64); }"
)


async def test_a_one_message_peer_is_not_looked_up() -> None:
    transport = InMemoryTransport()
    session = STREAM.session()
    async with Node(transport, "A") as node_a, Node(transport, "B") as node_b:
        a, _ = session.endpoint("A", node_a), session.endpoint("B", node_b)
        await a.send("B", a.message("One", n=1))
        assert a._peers == {"B": None}


async def test_later_sends_go_straight_to_the_peers_inbox_in_order_and_are_counted() -> None:
    transport = InMemoryTransport()
    session = STREAM.session()
    async with Node(transport, "A") as node_a, Node(transport, "B") as node_b:
        async with session.endpoint("A", node_a) as a, session.endpoint("B", node_b) as b:
            for label in ("One", "Two", "Three"):
                await a.send("B", a.message(label, n=len(label)))
            assert a._peers["B"] is not None  # the second hand-off found B's inbox
            assert transport.frames_sent == 3
            got = [(await b.recv("A")).n for _ in range(3)]
            assert got == [3, 3, 5]
            assert [e.label for e in session.trace.of_kind("recv")] == ["One", "Two", "Three"]


async def test_a_peer_that_left_is_reached_through_its_node_which_counts_the_late_message() -> None:
    transport = InMemoryTransport()
    session = STREAM.session()
    async with Node(transport, "A") as node_a, Node(transport, "B") as node_b:
        b = session.endpoint("B", node_b)
        async with session.endpoint("A", node_a) as a:
            await a.send("B", a.message("One", n=1))
            await a.send("B", a.message("Two", n=2))
            assert a._peers["B"] is not None
            b.close(ok=False)  # B leaves without reading
            await a.send("B", a.message("Three", n=3))
            assert node_b.stats.after_end == 1  # not left in the inbox B no longer reads


async def test_a_node_attached_anew_at_the_peers_address_gets_the_next_envelope() -> None:
    transport = InMemoryTransport()
    session = STREAM.session()
    async with Node(transport, "A") as node_a:
        async with Node(transport, "B") as node_b:
            b = session.endpoint("B", node_b)
            a = session.endpoint("A", node_a)
            await a.send("B", a.message("One", n=1))
            await a.send("B", a.message("Two", n=2))
            assert a._peers["B"] is not None
        async with Node(transport, "B") as again:
            await a.send("B", a.message("Three", n=3))
            assert again.retained()["stray_frames"] == 1  # waits there for its endpoint
            assert [e.label for _, e in b.inbox.queues["A"]] == ["One", "Two"]  # the old inbox: untouched


async def test_a_payload_handed_over_directly_is_still_checked_on_receipt() -> None:
    transport = InMemoryTransport()
    session = STREAM.session()
    async with Node(transport, "A") as node_a, Node(transport, "B") as node_b:
        a, b = session.endpoint("A", node_a), session.endpoint("B", node_b)
        for label in ("One", "Two", "Three"):
            await a.send("B", a.message(label, n=1))
        assert a._peers["B"] is not None
        queued = b.inbox.queues["A"]
        arrival, envelope = queued[2]
        envelope.payload = b"\x91\xa3bad"  # what the receiver decodes: a string where an i64 is due
        queued[2] = (arrival, envelope)
        assert [(await b.recv("A")).n for _ in range(2)] == [1, 1]
        with pytest.raises(ProtocolViolation, match="Three from A with a bad payload"):
            await b.recv("A")
