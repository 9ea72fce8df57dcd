"""Benchmark: in-memory round trips through the runtime (monitor, envelopes, MessagePack, trace)
against raw `asyncio.Queue` ping-pong, measured in the same run.

    .venv/bin/python bench/bench_runtime.py [round_trips]

Prints messages per second for both and the ratio (runtime time / queue time). Targets: ratio <= 3
and >= 50,000 messages/s.
"""

from __future__ import annotations

import asyncio
import sys
import time

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


async def queue_ping_pong(rounds: int) -> float:
    """Seconds for `rounds` round trips between two tasks over two asyncio queues."""
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

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        group.create_task(a())
        group.create_task(b())
    return time.perf_counter() - started


async def runtime_ping_pong(rounds: int) -> float:
    """Seconds for `rounds` round trips between two endpoints of one session, in memory."""
    protocol = choreography(PING_PONG.replace("ROUNDS", str(rounds)))
    session = protocol.session()
    Ping = session.catalog.make("Ping", 0).__class__  # noqa: N806 - a message class
    Pong = session.catalog.make("Pong", 0).__class__  # noqa: N806

    async def a(ep: Endpoint) -> None:
        for n in range(rounds):
            await ep.send("B", Ping(n))
            await ep.recv("B")

    async def b(ep: Endpoint) -> None:
        for _ in range(rounds):
            ping = await ep.recv("A")
            await ep.send("A", Pong(ping.n))

    transport = InMemoryTransport()
    async with Node(transport, "A") as node_a, Node(transport, "B") as node_b:
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            group.create_task(run_role(session.endpoint("A", node_a), a))
            group.create_task(run_role(session.endpoint("B", node_b), b))
        elapsed = time.perf_counter() - started
    assert len(session.trace.of_kind("recv")) == 2 * rounds
    return elapsed


async def main(rounds: int) -> None:
    await queue_ping_pong(1000)  # warm up both paths
    await runtime_ping_pong(1000)
    queue_times, runtime_times = [], []
    for _ in range(3):  # interleaved, best of three, so both see the same machine load
        queue_times.append(await queue_ping_pong(rounds))
        runtime_times.append(await runtime_ping_pong(rounds))
    queue_s, runtime_s = min(queue_times), min(runtime_times)
    messages = 2 * rounds
    print(f"round trips: {rounds} ({messages} messages)")
    print(f"asyncio.Queue ping-pong : {messages / queue_s:12,.0f} messages/s  ({queue_s * 1e6 / messages:.2f} us/msg)")
    print(f"runtime (monitor+wire)  : {messages / runtime_s:12,.0f} messages/s  ({runtime_s * 1e6 / messages:.2f} us/msg)")
    print(f"ratio runtime/queue     : {runtime_s / queue_s:.2f}  (target <= 3)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
