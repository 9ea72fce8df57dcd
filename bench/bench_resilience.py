"""Benchmark: the cost of the resilience wrappers on the success path, against the bare session,
measured in the same run.

    .venv/bin/python bench/bench_resilience.py [sessions]

Each measurement runs `sessions` two-phase-commit sessions (every role on its default behaviour,
in memory) one after another:

- bare: `run_session(...)`;
- wrapped: the same session through a `CircuitBreaker` around `run_with_retry` (a per-attempt
  timeout, so every attempt also runs under `asyncio.timeout`), as SPEC §9 composes them;
- middleware: the same session with a per-peer `CircuitBreakerMiddleware` in every role's handler
  stack (each send and receive passes a breaker).

Timed in CPU time of this process (the loop is single-threaded; CPU time keeps the ratio stable on a
loaded machine) and wall-clock time; interleaved in rotating order, best of nine. On a busy machine the
difference of two session timings is mostly noise, so the wrapper's own cost is also measured around a
no-op coroutine and set against a bare session's CPU time. Target: wrapped / bare <= 1.1.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aura_choreo.protocol import Protocol, load
from aura_choreo.resilience import CircuitBreaker, CircuitBreakerMiddleware, RetryPolicy, run_with_retry
from aura_choreo.runtime.behaviour import ProtocolHints
from aura_choreo.runtime.interpreter import Handler
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

TPC = Path(__file__).resolve().parents[1] / "examples" / "two_phase_commit.choreo"

Timing = tuple[float, float]
"""(CPU seconds, wall seconds)."""


async def timed(run: Callable[[], Awaitable[None]]) -> Timing:
    cpu, wall = time.process_time(), time.perf_counter()
    await run()
    return time.process_time() - cpu, time.perf_counter() - wall


class Sessions:
    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol
        self.transport = InMemoryTransport()
        self.hints = ProtocolHints.from_local_types(protocol.local_types().values())
        self.count = 0

    async def one(self, seed: int, middleware: tuple[Callable[[Handler], Handler], ...] = ()) -> None:
        """One session; the same `seed` gives every variant the same behaviour choices (the same work)."""
        self.count += 1
        session = self.protocol.session(session_id=f"s{self.count}")
        await run_session(session, self.transport, seed=seed, hints=self.hints, middleware=middleware)


async def bare(sessions: Sessions, n: int) -> None:
    for seed in range(n):
        await sessions.one(seed)


async def wrapped(sessions: Sessions, n: int) -> None:
    breaker = CircuitBreaker(failure_threshold=5, recovery_timeout=30.0)
    policy = RetryPolicy(max_attempts=3, base=0.05, attempt_timeout=30.0)
    for seed in range(n):
        await breaker.call(lambda seed=seed: run_with_retry(lambda: sessions.one(seed), policy))  # type: ignore[misc]


async def middleware(sessions: Sessions, n: int) -> None:
    breakers: dict[str, CircuitBreaker] = {}  # shared by every session, as a long-lived process would

    def stack(inner: Handler) -> Handler:
        return CircuitBreakerMiddleware(inner, breakers=breakers)

    for seed in range(n):
        await sessions.one(seed, (stack,))


async def wrapper_cost(calls: int = 20_000) -> float:
    """CPU seconds the breaker + retry wrapper adds to one call, measured around a no-op coroutine (a
    figure that machine load barely moves, unlike the difference of two session timings)."""
    breaker = CircuitBreaker(failure_threshold=5, recovery_timeout=30.0)
    policy = RetryPolicy(max_attempts=3, base=0.05, attempt_timeout=30.0)

    async def noop() -> None:
        await asyncio.sleep(0)

    async def plain() -> None:
        for _ in range(calls):
            await noop()

    async def guarded() -> None:
        for _ in range(calls):
            await breaker.call(lambda: run_with_retry(noop, policy))

    bare_runs, wrapped_runs = [], []
    for _ in range(3):
        bare_runs.append((await timed(plain))[0])
        wrapped_runs.append((await timed(guarded))[0])
    return max(0.0, min(wrapped_runs) - min(bare_runs)) / calls


async def main(n: int) -> None:
    sessions = Sessions(load(str(TPC)))
    variants = {"bare": bare, "wrapped": wrapped, "middleware": middleware}
    for run in variants.values():  # warm up every path
        await run(sessions, 50)
    best: dict[str, list[Timing]] = {name: [] for name in variants}
    names = list(variants)
    for round_ in range(9):  # interleaved, best of nine, each variant first in three rounds (no order bias)
        for name in names[round_ % 3 :] + names[: round_ % 3]:
            gc.collect()  # garbage of the previous measurement is not collected on this one's time
            run = variants[name]
            best[name].append(await timed(lambda run=run: run(sessions, n)))  # type: ignore[misc]
    print(f"two-phase-commit sessions: {n} per measurement, best of 9")
    for clock, index in (("cpu", 0), ("wall", 1)):
        times = {name: min(t[index] for t in runs) for name, runs in best.items()}
        for name, seconds in times.items():
            print(f"[{clock:4}] {name:10}: {n / seconds:10,.0f} sessions/s")
        wrapped_ratio = times["wrapped"] / times["bare"]
        middleware_ratio = times["middleware"] / times["bare"]
        print(f"[{clock:4}] ratio breaker+retry / bare     : {wrapped_ratio:.3f}  (target <= 1.1)")
        print(f"[{clock:4}] ratio breaker middleware / bare: {middleware_ratio:.3f}")
    cost = await wrapper_cost()
    session = min(t[0] for t in best["bare"]) / n
    ratio = (session + cost) / session
    print(f"[cpu ] breaker+retry wrapper: {cost * 1e6:.1f} us/call; bare session: {session * 1e6:.0f} us")
    print(f"[cpu ] ratio (bare session + wrapper) / bare session: {ratio:.3f}  (target <= 1.1)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
