"""Benchmark the model checker: state-space growth with the number of roles, POR vs full, and a 10^6 run.

Generated protocols (through the whole pipeline: text -> check -> projection -> machines):
- `pairs`: roles in independent pairs, each pair doing K ping-pongs inside one `parallel` block, so
  the full state space is the product of the pairs' spaces (exponential in roles);
- `loops`: the same pairs, each ping-ponging in a decided loop (cyclic: the cycle proviso of the
  reduction and the cannot-reach-end analysis are exercised, so POR saves less);
- `star`: a leader broadcasting to and gathering from a family (fan-in interleavings);
- `ring`: a token passed around n roles (sequential, linear).
For each, the full exploration (no partial-order reduction) is the baseline of the reduced one, and a
raw BFS over tuples with a dict (Python's floor for one state) is the baseline of the states/s rate.

Targets (SPEC §4.2, issue 5): >= 50,000 states/s; a 10^6-state protocol in < 60 s and < 2 GiB.
Issue 19: a quorum family of N = 1,000 in < 10 s; a broadcast + fan-in family of N = 200 in < 30 s and
< 1 GiB; bench_parse.py's random 10-role protocol of 1,000 statements in < 5 s (each with states/s and
peak memory).
Symmetry reduction (issue 19): a family running per-instance branches in parallel, states and time with
and without it (N = 10 has no baseline: POR alone explores 6.3 million states there; N = 12 is refused,
E109: the leader's own machine, the product of its parallel branches, is over the compile limit).
Run: `.venv/bin/python bench/bench_verify.py` (add `--quick` to skip the 10^6 run and N = 10).
"""

from __future__ import annotations

import resource
import sys
import time
from collections import deque
from pathlib import Path

from aura_choreo.protocol import choreography
from aura_choreo.verify import MachineCompileError, verify_protocol


def pairs(roles: int, exchanges: int) -> str:
    branches = []
    for p in range(roles // 2):
        steps = [f"A{p} -> B{p}: Ping{i}; B{p} -> A{p}: Pong{i};" for i in range(exchanges)]
        branches.append(" ".join(steps))
    names = ", ".join(f"A{p}, B{p}" for p in range(roles // 2))
    if len(branches) == 1:  # `parallel { s1; s2 }` would make each statement a branch
        return f"protocol Pairs {{ roles: {names}; {branches[0]} }}"
    return f"protocol Pairs {{ roles: {names}; parallel {{ {' | '.join(branches)} }} }}"


def loops(roles: int) -> str:
    """Independent pairs, each in a decided loop (cyclic: the livelock analysis and POR proviso run)."""
    branches = [
        f"loop (decides: A{p}) {{ A{p} -> B{p}: Ping; B{p} -> A{p}: Pong; }}; A{p} -> B{p}: Bye;"
        for p in range(roles // 2)
    ]
    names = ", ".join(f"A{p}, B{p}" for p in range(roles // 2))
    if len(branches) == 1:
        return f"protocol Loops {{ roles: {names}; {branches[0]} }}"
    return f"protocol Loops {{ roles: {names}; parallel {{ {' | '.join(branches)} }} }}"


def star(roles: int) -> str:
    return (
        f"protocol Star {{ roles: Leader, W[{roles - 1}]; Leader -> W[*]: Task; W[*] -> Leader: Result;"
        " Leader -> W[*]: Done; }"
    )


def ring(roles: int) -> str:
    names = [f"R{i}" for i in range(roles)]
    sends = " ".join(f"{names[i]} -> {names[(i + 1) % roles]}: Token;" for i in range(roles))
    return f"protocol Ring {{ roles: {', '.join(names)}; {sends} {sends} }}"


def raw_bfs_rate(side: int, dims: int) -> tuple[int, float]:
    """Baseline: BFS over the grid {0..side-1}^dims with tuple states in a dict (no protocol logic)."""
    start = (0,) * dims
    seen = {hash(start): 0}
    queue = deque([start])
    began = time.perf_counter()
    while queue:
        state = queue.popleft()
        for i in range(dims):
            if state[i] + 1 < side:
                new = list(state)
                new[i] += 1
                succ = tuple(new)
                h = hash(succ)
                if h not in seen:
                    seen[h] = len(seen)
                    queue.append(succ)
    elapsed = time.perf_counter() - began
    return len(seen), len(seen) / elapsed


def measure(text: str, por: bool) -> tuple[int, float]:
    local_types = choreography(text).local_types()
    began = time.perf_counter()
    report = verify_protocol(local_types, por=por)
    elapsed = time.perf_counter() - began
    assert report.deadlock_free, [f.message for f in report.findings]
    return report.states, elapsed


def growth_table() -> None:
    print(
        f"{'protocol':<10} {'roles':>5} {'full states':>12} {'POR states':>11} {'POR/full':>9} "
        f"{'full s':>8} {'POR s':>7} {'full states/s':>14}"
    )
    for family, make in (("pairs", lambda n: pairs(n, 3)), ("loops", loops), ("star", star), ("ring", ring)):
        previous = None
        for roles in range(2, 9):
            if family in ("pairs", "loops") and roles % 2:
                continue
            text = make(roles)
            full_states, full_time = measure(text, por=False)
            por_states, por_time = measure(text, por=True)
            growth = f"  x{full_states / previous:.1f}" if previous else ""
            previous = full_states
            rate = full_states / max(full_time, 1e-9)
            ratio = por_states / full_states
            print(
                f"{family:<10} {roles:>5} {full_states:>12,} {por_states:>11,} {ratio:>9.3f} "
                f"{full_time:>8.3f} {por_time:>7.3f} {rate:>14,.0f}{growth}"
            )


def million_run() -> None:
    text = pairs(8, 8)  # 4 independent pairs x 8 ping-pongs: 33^4 = 1,185,921 states
    print("\n10^6 model: 8 roles in 4 independent pairs, 8 ping-pongs each, no partial-order reduction")
    base_states, base_rate = raw_bfs_rate(33, 4)
    states, elapsed = measure(text, por=False)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = states / elapsed
    print(
        f"  explored {states:,} states in {elapsed:.1f} s = {rate:,.0f} states/s;"
        f" peak RSS {peak_mib:,.0f} MiB"
    )
    print(
        f"  baseline raw tuple BFS: {base_states:,} states at {base_rate:,.0f} states/s;"
        f" explorer/baseline = {rate / base_rate:.2f}"
    )
    por_states, por_elapsed = measure(text, por=True)
    print(f"  with POR: {por_states:,} states in {por_elapsed:.3f} s ({states / por_states:,.0f}x fewer)")
    verdict = rate >= 50_000 and elapsed < 60 and peak_mib < 2048
    print(f"  targets (>= 50,000 states/s, < 60 s, < 2 GiB): {'met' if verdict else 'MISSED'}")


def quorum(size: int) -> str:
    """A leader asking a family and going on after a majority answered (issue 19)."""
    need = size // 2 + 1
    return (
        f"protocol Quorum {{ roles: Leader, W[{size}]; Leader -> W[*]: Ask;"
        f" [@min_responses = {need}] W[*] -> Leader: Answer; Leader -> W[*]: Done; }}"
    )


def random_protocol(statements: int) -> str:
    """bench_parse.py's random 10-role choreography (sends, guarded choices, counted loops)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_parse import generate

    return generate(statements)[0].replace("choreography Bench", "protocol Bench", 1)


def scaling_targets() -> None:
    """Issue 19's targets: each run reports its time, states/s and the process's peak RSS."""
    print("\nfamilies and a large random protocol (issue 19 targets; peak RSS is the process's so far)")
    cases = (
        ("quorum (min_responses) N=1000", lambda: quorum(1000), 10.0, None),
        ("broadcast + fan-in N=200", lambda: star(201), 30.0, 1024.0),
        ("random 10 roles, 1,000 statements", lambda: random_protocol(1000), 5.0, None),
    )
    for name, make, seconds, mib in cases:
        local_types = choreography(make()).local_types()
        began = time.perf_counter()
        cpu = time.process_time()
        try:
            report = verify_protocol(local_types)
        except MachineCompileError as exc:
            print(f"  {name:<36} refused: {exc}")
            continue
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        met = elapsed < seconds and (mib is None or peak < mib) and report.complete
        limit = f"< {seconds:.0f} s" + (f", < {mib / 1024:.0f} GiB" if mib else "")
        print(
            f"  {name:<36} {report.states:>9,} states {elapsed:7.2f} s (cpu {cpu:6.2f} s)"
            f" {report.states / max(report.explore_seconds, 1e-9):>9,.0f} states/s"
            f" peak RSS {peak:,.0f} MiB; target {limit}: {'met' if met else 'MISSED'}"
        )


def fan_out(size: int) -> str:
    """A leader running a two-step exchange with a choice with every instance of a family in parallel
    (issue 19: symmetry reduction; the instances are interchangeable)."""
    branch = (
        "L -> W[{i}]: Task; choice W[{i}] {{ ok: {{ W[{i}] -> L: Result; }} no: {{ W[{i}] -> L: Fail; }} }}"
    )
    body = " | ".join(branch.format(i=i) for i in range(size))
    return f"protocol FanOut {{ roles: L, W[{size}]; parallel {{ {body} }} }}"


def symmetry_table(sizes: tuple[int, ...], baseline_up_to: int) -> None:
    """States and time with symmetry reduction against POR alone (the baseline) on `fan_out`."""
    print("\nsymmetry reduction: a parallel of per-instance choose/offer branches (L + W[N]), both with POR")
    print(f"  {'N':>3} {'POR states':>11} {'POR s':>7} {'+sym states':>12} {'+sym s':>7} {'ratio':>13}")
    for size in sizes:
        try:
            local_types = choreography(fan_out(size)).local_types()
            reduced = verify_protocol(local_types)
        except MachineCompileError as exc:
            print(f"  {size:>3} refused: {exc}")
            continue
        assert reduced.deadlock_free and reduced.symmetric_families == ("W",)
        if size <= baseline_up_to:
            base = verify_protocol(local_types, symmetry=False)
            ratio = f"{base.states / reduced.states:>12,.0f}x"
            base_cols = f"{base.states:>11,} {base.seconds:>7.2f}"
        else:
            ratio, base_cols = f"{'-':>13}", f"{'(skipped)':>11} {'-':>7}"
        print(f"  {size:>3} {base_cols} {reduced.states:>12,} {reduced.seconds:>7.2f} {ratio}")


def main() -> None:
    growth_table()
    scaling_targets()
    if "--quick" not in sys.argv:
        million_run()
    # Last: N = 10 compiles a 59,049-state leader machine, which would otherwise be the peak RSS that
    # the 10^6 run reports (the process's peak so far).
    symmetry_table((4, 6, 8, 12) if "--quick" in sys.argv else (4, 6, 8, 10, 12), baseline_up_to=8)


if __name__ == "__main__":
    main()
