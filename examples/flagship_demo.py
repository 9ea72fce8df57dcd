"""The flagship demo (`make run`): a two-phase commit, checked, projected and simulated with faults.

1. validate: parse and check the choreography, and model-check that it cannot deadlock;
2. project: one local type per role;
3. simulate: 200 seeded sessions on a network that drops 20% and duplicates 10% of frames with
   5..50 ms latency, each run's trace checked against the global protocol afterwards;
4. a short delivered-message trace of one lossy run, and what a partition longer than the receive
   timeout does;
5. the same protocol for real: one process per role over authenticated tcp:// on loopback
   (`two_process_run.py`).
Steps 1-4 run on virtual time and take a second or two; step 5 starts two Python processes.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

from aura_choreo import load
from aura_choreo.projection.render_text import render_text
from aura_choreo.testing import SimulationConfig, check_trace, run_simulation, simulate
from aura_choreo.transports.faults import Partition
from aura_choreo.transports.network import LinkModel, NetworkModel, UniformLatency

SOURCE = Path(__file__).resolve().parent / "two_phase_commit.choreo"
RUNS = 200
LOSSY = NetworkModel(LinkModel(latency=UniformLatency(5.0, 50.0), drop=0.2, duplicate=0.1))


def heading(text: str) -> None:
    print(f"\n== {text}")


def validate_and_project() -> object:
    protocol = load(SOURCE)
    heading(f"validate {SOURCE.name}")
    print(f"protocol {protocol.qualified_name}, roles: {', '.join(protocol.roles)}")
    notes = [d for d in protocol.diagnostics if d.severity != "info"]
    print(f"diagnostics: {len(notes)} warnings or errors")
    try:
        from aura_choreo.verify import verify_protocol
    except ImportError:
        print("model check: the verifier is not installed")
    else:
        report = verify_protocol(protocol.local_types())
        verdict = "deadlock-free" if report.deadlock_free else "NOT deadlock-free"
        print(f"model check: {verdict} ({report.states} states explored)")
    heading("project")
    for role, local_type in protocol.local_types().items():
        print(f"-- {role}")
        print(render_text(local_type).rstrip())
    return protocol


def simulate_with_faults(protocol: object) -> bool:
    heading(f"simulate {RUNS} sessions: drop 20%, duplicate 10%, latency 5..50 ms")
    started = time.perf_counter()
    report = simulate(protocol, seed=1, runs=RUNS, config=SimulationConfig(network=LOSSY), check=True)
    wall = time.perf_counter() - started
    lost = sum(r.transport.lost for r in report.runs)
    duplicated = sum(r.transport.duplicated for r in report.runs)
    outcomes = Counter(
        "commit" if "CommitAck" in {e.label for e in r.trace.deliveries()} else "abort" for r in report.runs
    )
    print(f"runs: {len(report.runs)}, failed: {len(report.failures)}  ({wall:.2f}s wall clock)")
    print(f"frames lost: {lost}, duplicated: {duplicated}; masked by retransmission and de-duplication")
    checked = "every trace follows the protocol" if report.ok else "see the failures below"
    print(f"outcomes: {outcomes['commit']} commits, {outcomes['abort']} aborts; {checked}")
    for failing in report.failures:
        print(f"  seed {failing.seed}: {failing.failure}")

    heading("one lossy run (seed 1): delivered messages")
    run = report.runs[0]
    for event in run.trace.deliveries():
        print(f"  {event.time * 1000:7.1f} ms  {event.sender} -> {event.receiver}: {event.label}")
    print(f"  trace check: {'ok' if check_trace(protocol, run.trace).ok else 'FAILED'}")
    return report.ok


def partition_beyond_timeout(protocol: object) -> bool:
    heading("a partition longer than the receive timeout (Participant isolated for 60 s, timeout 5 s)")
    config = SimulationConfig(schedule=(Partition(("Participant",), 0.0, 60_000.0),), peer_timeout=5.0)
    result = run_simulation(protocol, 1, config)
    print(f"  {result.failure}" if result.failure else "  unexpectedly finished")
    return result.failure is not None and result.failure.error == "PeerTimeout"


def main() -> int:
    print(f"aura-choreo flagship demo: {SOURCE.name}")
    protocol = validate_and_project()
    ok = simulate_with_faults(protocol)
    ok = partition_beyond_timeout(protocol) and ok
    heading("run: one process per role over tcp:// (TLS 1.3, pinned device keys) on loopback")
    from two_process_run import run_two_processes

    ok = run_two_processes() and ok
    heading("done" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
