"""Benchmark: in-memory round trips through the runtime (monitor, envelopes, MessagePack, trace)
against raw `asyncio.Queue` ping-pong, measured in the same run.

    .venv/bin/python bench/bench_runtime.py [round_trips]

Prints messages per second for both and the ratio (runtime / queue). Both are timed in CPU time of
this process (the event loop is single-threaded, so that is the work done; it keeps the ratio stable
when other processes load the machine) and in wall-clock time. Targets: ratio <= 3 and >= 50,000
messages/s.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.runner import run_role
from aura_choreo.transports.inmemory import InMemoryTransport

PING_PONG = """
choreography PingPong {
    roles: A, B;
    loop (count: ROUNDS) { A -> B: Ping(n: i64); B -> A: Pong(n: i64); }
}
"""

Timing = tuple[float, float]
"""(CPU seconds, wall seconds)."""


async def timed(run: Callable[[], Awaitable[None]]) -> Timing:
    cpu, wall = time.process_time(), time.perf_counter()
    await run()
    return time.process_time() - cpu, time.perf_counter() - wall


async def queue_ping_pong(rounds: int) -> Timing:
    """`rounds` round trips between two tasks over two asyncio queues."""
    to_b: asyncio.Queue[int] = asyncio.Queue()
    to_a: asyncio.Queue[int] = asyncio.Queue()

    async def a() -> None:
        for n in range(rounds):
            await to_b.put(n)
            await to_a.get()

    async def b() -> None:
        for _ in range(rounds):
            n = await to_b.get()
            await to_a.put(n)

    async def both() -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(a())
            group.create_task(b())

    return await timed(both)


async def runtime_ping_pong(rounds: int) -> Timing:
    """`rounds` round trips between two endpoints of one session, in memory, every message checked."""
    protocol = choreography(PING_PONG.replace("ROUNDS", str(rounds)))
    session = protocol.session()
    ping_class = type(session.catalog.make("Ping", 0))
    pong_class = type(session.catalog.make("Pong", 0))

    async def a(ep: Endpoint) -> None:
        for n in range(rounds):
            await ep.send("B", ping_class(n))
            await ep.recv("B")

    async def b(ep: Endpoint) -> None:
        for _ in range(rounds):
            ping = await ep.recv("A")
            await ep.send("A", pong_class(ping.n))

    transport = InMemoryTransport()
    async with Node(transport, "A") as node_a, Node(transport, "B") as node_b:

        async def both() -> None:
            async with asyncio.TaskGroup() as group:
                group.create_task(run_role(session.endpoint("A", node_a), a))
                group.create_task(run_role(session.endpoint("B", node_b), b))

        timing = await timed(both)
    assert len(session.trace.of_kind("recv")) == 2 * rounds
    return timing


async def main(rounds: int) -> None:
    await queue_ping_pong(1000)  # warm up both paths
    await runtime_ping_pong(1000)
    queue_runs: list[Timing] = []
    runtime_runs: list[Timing] = []
    for _ in range(5):  # interleaved, best of five, so both see the same machine load
        queue_runs.append(await queue_ping_pong(rounds))
        runtime_runs.append(await runtime_ping_pong(rounds))
    messages = 2 * rounds
    print(f"round trips: {rounds} ({messages} messages), best of 5")
    for clock, index in (("cpu", 0), ("wall", 1)):
        queue_s = min(run[index] for run in queue_runs)
        runtime_s = min(run[index] for run in runtime_runs)
        print(f"[{clock:4}] asyncio.Queue ping-pong : {messages / queue_s:10,.0f} messages/s")
        print(f"[{clock:4}] runtime (monitor+wire)  : {messages / runtime_s:10,.0f} messages/s")
        print(f"[{clock:4}] ratio runtime/queue     : {runtime_s / queue_s:.2f}  (target <= 3)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
