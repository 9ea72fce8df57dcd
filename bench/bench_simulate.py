"""Benchmark: simulated sessions per second, against the same sessions over the in-memory transport.

    .venv/bin/python bench/bench_simulate.py [sessions]

For a two-phase commit and a 5-role ring, runs `sessions` complete sessions (default behaviour, seeds
0..n-1) three ways, all measured in this run:
- baseline: in memory (reliable transport, no retransmission machinery) on a plain asyncio loop;
- simulated: the seeded network, fault-free, on virtual time, one session after the other (what
  `aura-choreo simulate` does: one `Simulator`, each session starting from virtual time zero);
- simulated+faults: 10% drops, 10% duplicates, 1..20 ms latency.
Prints sessions/s and the ratio of each simulated mode's time to the baseline's. Target: >= 500
simulated two-phase-commit sessions per second.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import replace
from pathlib import Path

from aura_choreo.protocol import Protocol, choreography, load
from aura_choreo.runtime.runner import run_session
from aura_choreo.runtime.trace import Trace
from aura_choreo.testing import SimulationConfig
from aura_choreo.testing.simulation import Simulator
from aura_choreo.transports.inmemory import InMemoryTransport
from aura_choreo.transports.network import LinkModel, NetworkModel, UniformLatency

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RING = """
choreography Ring {
    roles: N0, N1, N2, N3, N4;
    N0 -> N1: Token(round: u32);
    N1 -> N2: Token(round: u32);
    N2 -> N3: Token(round: u32);
    N3 -> N4: Token(round: u32);
    N4 -> N0: Token(round: u32);
    N0 -> N1: Done;
}
"""
FAULTY = SimulationConfig(
    network=NetworkModel(LinkModel(latency=UniformLatency(1, 20), drop=0.1, duplicate=0.1))
)


def in_memory(protocol: Protocol, sessions: int) -> float:
    template = protocol.session()  # message classes built once, as the simulator does

    async def main() -> None:
        for seed in range(sessions):
            await run_session(
                replace(template, id=f"mem-{seed}", trace=Trace()), InMemoryTransport(), seed=seed
            )

    started = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - started


def simulated(protocol: Protocol, sessions: int, config: SimulationConfig | None = None) -> float:
    started = time.perf_counter()
    simulator = Simulator(protocol)
    for seed in range(sessions):
        result = simulator.run(seed, config)
        if result.failure is not None:
            raise SystemExit(f"seed {seed} failed: {result.failure}")
    simulator.close()
    return time.perf_counter() - started


def report(name: str, protocol: Protocol, sessions: int) -> float:
    in_memory(protocol, min(sessions, 20))  # warm up imports and caches
    base = in_memory(protocol, sessions)
    plain = simulated(protocol, sessions)
    faulty = simulated(protocol, sessions, FAULTY)
    print(f"{name} ({len(protocol.roles)} roles), {sessions} sessions:")
    print(f"  in memory (baseline) {sessions / base:9.0f} sessions/s")
    print(f"  simulated            {sessions / plain:9.0f} sessions/s   ratio {plain / base:5.2f}x baseline")
    print(
        f"  simulated + faults   {sessions / faulty:9.0f} sessions/s   ratio {faulty / base:5.2f}x baseline"
    )
    return sessions / plain


def main() -> None:
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    tpc_rate = report("two-phase commit", load(EXAMPLES / "two_phase_commit.choreo"), sessions)
    report("5-role ring", choreography(RING), sessions)
    verdict = "met" if tpc_rate >= 500 else "NOT met"
    print(f"target >= 500 simulated two-phase-commit sessions/s: {verdict} ({tpc_rate:.0f}/s)")


if __name__ == "__main__":
    main()
