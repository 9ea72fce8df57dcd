"""Acknowledgements ride on replies (delayed acks), one retransmission timer per node, a frame to a
peer that never acknowledges is given up, and the in-memory transport hands envelopes over directly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_reliability import LossyTransport

from aura_choreo.errors import TransportError
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.runner import run_role, run_session
from aura_choreo.runtime.wire import KIND_ACK, KIND_DATA, NIL, WIRE_VERSION, Envelope, decode_envelope
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.base import Address
from aura_choreo.transports.inmemory import InMemoryTransport

ROUNDS = 20
PING_PONG = choreography(
    f"""
    choreography PingPong {{
        roles: A, B;
        loop (count: {ROUNDS}) {{ A -> B: Ping(n: i64); B -> A: Pong(n: i64); }}
    }}
    """
)


class CountingTransport(LossyTransport):
    """A lossless unreliable transport that counts the ack frames it carries."""

    def __init__(self, seed: int = 0, drop: float = 0.0, duplicate: float = 0.0) -> None:
        super().__init__(seed, drop=drop, duplicate=duplicate, max_delay=0.0)
        self.ack_frames = 0

    def post(self, sender: Address, to: Address, frame: bytes) -> None:
        if decode_envelope(frame).kind == KIND_ACK:
            self.ack_frames += 1
        super().post(sender, to, frame)


async def ping(ep: Endpoint) -> list[int]:
    got = []
    for n in range(ROUNDS):
        await ep.send("B", ep.message("Ping", n=n))
        got.append((await ep.recv("B")).n)
    return got


async def pong(ep: Endpoint) -> None:
    for _ in range(ROUNDS):
        message = await ep.recv("A")
        await ep.send("A", ep.message("Pong", n=message.n))


def test_a_reply_carries_the_acknowledgement_of_the_request() -> None:
    transport = CountingTransport()

    async def main() -> dict[str, Any]:
        return await run_session(PING_PONG.session(), transport, {"A": ping, "B": pong})

    results = run_virtual(main())
    assert results["A"] == list(range(ROUNDS))
    # Every Ping is acknowledged by its Pong and every Pong but the last by the next Ping: only the
    # last Pong's acknowledgement travels as an ack frame of its own.
    assert transport.ack_frames == 1


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), drop=st.sampled_from([0.0, 0.2, 0.4]), dup=st.sampled_from([0.0, 0.3]))
def test_no_message_is_lost_or_duplicated_with_piggybacked_and_delayed_acks(
    seed: int, drop: float, dup: float
) -> None:
    transport = CountingTransport(seed, drop=drop, duplicate=dup)

    async def main() -> dict[str, Any]:
        session = PING_PONG.session(peer_timeout=None)
        return await run_session(session, transport, {"A": ping, "B": pong}, retransmit_after=0.05)

    assert run_virtual(main())["A"] == list(range(ROUNDS))


def test_a_frame_a_peer_never_acknowledges_is_given_up() -> None:
    transport = CountingTransport()

    async def main() -> tuple[int, int]:
        async with Node(transport, "A", linger=0.0, give_up_after=30.0) as a:
            envelope = Envelope(WIRE_VERSION, KIND_DATA, "s", "P", "A", "Nobody", "M", 1, NIL)
            await a.send("Nobody", envelope)
            await asyncio.sleep(10.0)
            still = a.retained()["unacked"]
            await asyncio.sleep(60.0)
            return still, a.retained()["unacked"]

    assert run_virtual(main()) == (1, 0)


async def test_the_in_memory_transport_hands_envelopes_over_and_still_checks_the_size() -> None:
    transport = InMemoryTransport(max_frame=4096)
    session = PING_PONG.session()
    async with Node(transport, "A") as node_a, Node(transport, "B") as node_b:
        async with asyncio.TaskGroup() as group:
            done = group.create_task(run_role(session.endpoint("A", node_a), ping))
            group.create_task(run_role(session.endpoint("B", node_b), pong))
    assert done.result() == list(range(ROUNDS))
    assert transport.frames_sent == 2 * ROUNDS
    assert node_a.stats.garbage == node_b.stats.garbage == 0

    big = choreography("choreography Big { roles: A, B; A -> B: Blob(text: String); }").session()
    async with Node(transport, "A2") as node, Node(transport, "B") as _:
        async with big.endpoint("A", node) as ep:
            with pytest.raises(TransportError, match="4096-byte limit"):
                await ep.send("B", ep.message("Blob", text="x" * 5000))


def test_a_transport_that_watches_frames_turns_the_hand_off_off() -> None:
    class Watching(InMemoryTransport):
        def post_frame(self, sender: Address, to: Address, frame: bytes) -> None:
            super().post_frame(sender, to, frame)

    assert InMemoryTransport().direct and not Watching().direct
