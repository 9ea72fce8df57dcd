"""`run_session` called concurrently on one transport (it used to fail with "address already attached")."""

from __future__ import annotations

import asyncio

import pytest

from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport
from aura_choreo.transports.simulated import SimulatedTransport

PING = choreography(
    """
    choreography Ping {
        roles: A, B;
        A -> B: Ping(n: i64);
        B -> A: Pong(n: i64);
    }
    """
)


def _client(n: int, got: dict[int, int]):  # type: ignore[no-untyped-def]
    async def code(ep: Endpoint) -> None:
        await ep.send("B", ep.message("Ping", n=n))
        got[n] = (await ep.recv("B")).n

    return code


async def _server(ep: Endpoint) -> None:
    ping = await ep.recv("A")
    await asyncio.sleep(0)  # let the other session interleave
    await ep.send("A", ep.message("Pong", n=ping.n * 10))


async def test_two_sessions_run_concurrently_via_run_session_on_one_in_memory_transport() -> None:
    transport = InMemoryTransport()
    got: dict[int, int] = {}
    one, two = PING.session(), PING.session()
    await asyncio.gather(
        run_session(one, transport, {"A": _client(1, got), "B": _server}),
        run_session(two, transport, {"A": _client(2, got), "B": _server}),
    )
    assert got == {1: 10, 2: 20}
    # Everything was detached at the end: a later run attaches the same addresses again.
    await run_session(PING.session(), transport, {"A": _client(3, got), "B": _server})
    assert got[3] == 30


async def test_many_overlapping_run_sessions_with_staggered_starts_each_get_their_own_replies() -> None:
    transport = InMemoryTransport()
    got: dict[int, int] = {}

    async def later(n: int) -> None:
        for _ in range(n % 3):
            await asyncio.sleep(0)  # starts and ends interleave with attaching and detaching
        await run_session(PING.session(), transport, {"A": _client(n, got), "B": _server})

    await asyncio.gather(*(later(n) for n in range(20)))
    assert got == {n: n * 10 for n in range(20)}


async def test_concurrent_run_sessions_share_a_node_over_an_unreliable_transport() -> None:
    transport = SimulatedTransport(seed=3)
    got: dict[int, int] = {}
    await asyncio.gather(
        *(run_session(PING.session(), transport, {"A": _client(n, got), "B": _server}) for n in range(3))
    )
    assert got == {0: 0, 1: 10, 2: 20}


async def test_a_failing_session_does_not_break_the_one_running_beside_it() -> None:
    transport = InMemoryTransport()
    got: dict[int, int] = {}

    async def broken(ep: Endpoint) -> None:
        raise ValueError("role code failed")

    results = await asyncio.gather(
        run_session(PING.session(), transport, {"A": broken, "B": _server}),
        run_session(PING.session(), transport, {"A": _client(5, got), "B": _server}),
        return_exceptions=True,
    )
    assert isinstance(results[0], ValueError)
    assert got == {5: 50}
    with pytest.raises(ValueError):
        await run_session(PING.session(peer_timeout=0.05), transport, {"A": broken, "B": _server})


async def test_a_transport_that_cannot_be_hashed_still_runs_sessions_one_at_a_time() -> None:
    class Unhashable(InMemoryTransport):
        __hash__ = None  # type: ignore[assignment]

    got: dict[int, int] = {}
    await run_session(PING.session(), Unhashable(), {"A": _client(7, got), "B": _server})
    assert got == {7: 70}
