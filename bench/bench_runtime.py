"""Benchmark: in-memory round trips through the runtime (monitor, envelopes, MessagePack, trace)
against raw `asyncio.Queue` ping-pong, measured in the same run.

    .venv/bin/python bench/bench_runtime.py [round_trips]

Prints messages per second and the ratio against the queue for three paths: imperative role code
(`ep.send`/`ep.recv`), the default behaviour driven by the monitor (what the simulator runs), and
session set-up (a new session of a one-round-trip protocol on long-lived nodes: endpoints entered,
the round trip, endpoints left), reported as set-up time in imperative round trips. Everything is
timed in CPU time of this process (the event loop is single-threaded, so that is the work done; it
keeps ratios stable when other processes load the machine) and in wall-clock time.
Targets (issue 19): imperative <= 2x the queue, default behaviour <= 2.5x; set-up reported.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.runner import run_role, run_session
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
    assert session.trace.count("recv") == 2 * rounds  # untimed
    return timing


async def default_ping_pong(rounds: int) -> Timing:
    """`rounds` round trips with both roles run by the default behaviour (the simulator's path)."""
    protocol = choreography(PING_PONG.replace("ROUNDS", str(rounds)))
    session = protocol.session()
    timing = await timed(lambda: run_session(session, InMemoryTransport(), {}))
    assert session.trace.count("recv") == 2 * rounds  # untimed
    return timing


async def session_setups(sessions: int) -> Timing:
    """`sessions` sessions of a one-round-trip protocol, one after another, on two long-lived nodes."""
    protocol = choreography(PING_PONG.replace("ROUNDS", "1"))
    first = protocol.session()
    ping_class = type(first.catalog.make("Ping", 0))
    pong_class = type(first.catalog.make("Pong", 0))

    async def a(ep: Endpoint) -> None:
        await ep.send("B", ping_class(1))
        await ep.recv("B")

    async def b(ep: Endpoint) -> None:
        ping = await ep.recv("A")
        await ep.send("A", pong_class(ping.n))

    transport = InMemoryTransport()
    async with Node(transport, "A") as node_a, Node(transport, "B") as node_b:

        async def all_sessions() -> None:
            for _ in range(sessions):
                session = protocol.session()
                async with asyncio.TaskGroup() as group:
                    group.create_task(run_role(session.endpoint("A", node_a), a))
                    group.create_task(run_role(session.endpoint("B", node_b), b))

        return await timed(all_sessions)


Path = Callable[[int], Awaitable[Timing]]


async def main(rounds: int) -> None:
    sessions = max(rounds // 10, 100)
    paths: list[tuple[str, Path, int]] = [
        ("asyncio.Queue ping-pong", queue_ping_pong, rounds),
        ("runtime, imperative", runtime_ping_pong, rounds),
        ("runtime, default behaviour", default_ping_pong, rounds),
        ("session set-up + 1 round trip", session_setups, sessions),
    ]
    for _, run, _count in paths:
        await run(200)  # warm up every path
    runs: dict[str, list[Timing]] = {name: [] for name, _, _ in paths}
    for _ in range(5):  # interleaved, best of five, so every path sees the same machine load
        for name, run, count in paths:
            runs[name].append(await run(count))
    print(f"round trips: {rounds} ({2 * rounds} messages); sessions: {sessions}; best of 5")
    targets = {"runtime, imperative": 2.0, "runtime, default behaviour": 2.5}
    for clock, index in (("cpu", 0), ("wall", 1)):
        best = {name: min(t[index] for t in timings) for name, timings in runs.items()}
        queue_rt = best["asyncio.Queue ping-pong"] / rounds
        runtime_rt = best["runtime, imperative"] / rounds
        for name, _, count in paths[:3]:
            ratio = best[name] / count / queue_rt
            target = f"  (target <= {targets[name]})" if name in targets else ""
            print(f"[{clock:4}] {name:28}: {2 * count / best[name]:10,.0f} messages/s"
                  f"  ratio {ratio:.2f}{target}")  # fmt: skip
        setup = best["session set-up + 1 round trip"] / sessions - runtime_rt
        print(
            f"[{clock:4}] session set-up              : {setup * 1e6:8.1f} us"
            f" = {setup / runtime_rt:.1f} imperative round trips"
            f" = {setup / queue_rt:.1f} queue round trips"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
