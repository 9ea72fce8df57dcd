"""The peer deadline of a receive: an inbox arms one timer and re-arms it for what is left when it
fires early (`runtime.inbox`), so a peer that keeps answering never times out and a peer that falls
silent still does, whenever that happens. On virtual time (no wall-clock waits)."""

from __future__ import annotations

import asyncio

import pytest

from aura_choreo.errors import PeerTimeout
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

pytestmark = pytest.mark.virtual_time  # sleeps and peer deadlines take virtual time, not wall-clock time


ROUNDS = choreography(
    """
    choreography Rounds {
        roles: A, B;
        loop (count: 10) { A -> B: Ping(n: i64); B -> A: Pong(n: i64); }
    }
    """
)


@pytest.mark.parametrize("silent_at", range(1, 7))
async def test_a_peer_answering_within_the_timeout_then_falling_silent_times_out(silent_at: int) -> None:
    # Answers 0.03s apart: the timer armed by one receive fires during a later one (sometimes the
    # silent one), which must then re-arm it for the rest of its own deadline.
    session = ROUNDS.session(peer_timeout=0.05)
    pongs: list[int] = []

    async def a(ep: Endpoint) -> None:
        for n in range(10):
            await ep.send("B", ep.message("Ping", n=n))
            pongs.append((await ep.recv("B")).n)

    async def b(ep: Endpoint) -> None:
        for n in range(10):
            await ep.recv("A")
            if n == silent_at:
                await asyncio.sleep(1)  # silent from here on
            await asyncio.sleep(0.03)  # each answer within the timeout
            await ep.send("A", ep.message("Pong", n=n))

    with pytest.raises(PeerTimeout) as caught:
        await run_session(session, InMemoryTransport(), {"A": a, "B": b})
    assert pongs == list(range(silent_at))  # no prompt answer was taken for a timeout
    assert caught.value.role == "A"
    assert "B sent nothing within 0.05s" in str(caught.value)


async def test_every_receive_of_a_prompt_peer_completes_however_long_the_session_runs() -> None:
    session = ROUNDS.session(peer_timeout=0.05)

    async def a(ep: Endpoint) -> int:
        total = 0
        for n in range(10):
            await ep.send("B", ep.message("Ping", n=n))
            total += (await ep.recv("B")).n
        return total

    async def b(ep: Endpoint) -> None:
        for _ in range(10):
            ping = await ep.recv("A")
            await asyncio.sleep(0.049)  # just inside the timeout, ten times over
            await ep.send("A", ep.message("Pong", n=ping.n))

    results = await run_session(session, InMemoryTransport(), {"A": a, "B": b})
    assert results["A"] == sum(range(10))
