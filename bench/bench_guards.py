"""Per-send overhead of the guard chain (with and without Ed25519 receipts) against the bare runtime.

All variants run in the same process and run: a two-role session `Admin -> User: Ping(n)` repeated in
a counted loop over the in-memory transport, driven by the default behaviour.
- bare runtime (baseline): no extension registered;
- extension hooks only: an extension on every step whose `before_send` and `after_send` do nothing
  (what the runtime's hooked send path costs before any guard work: the floor of the guarded
  variants; until this round it registered the base `Extension`, whose hooks the runtime skips, so
  it measured the bare path again);
- guard chain, default profile: the same protocol without annotations under a policy (the fast path:
  only the flow counter is charged);
- guard chain, no signing: capability check, flow and leakage budgets, journal facts committed to an
  in-memory SQLite journal, receive-side checks;
- guard chain + receipts: the same plus an Ed25519 receipt signed by the sender and verified by the
  receiver, hash-chained.
A second table times the chain alone (prepare/commit/accept around a msgpack encode and an asyncio
queue, no runtime), against that bare loop, to show what the chain itself costs. Both tables count the
process's CPU time (the machine is shared: wall time would measure the neighbours). Each variant runs R
times, each time right next to a run of its baseline (signed variants send fewer messages, against a
baseline of as many): a ratio is the median of the R pairs' ratios, printed with their range, so a
load swing on the shared machine hits both sides of a pair and shows up as spread, not as a result.
R is 31 by default (it was 9): on the shared 2-core machine a ratio over 9 rounds moved between runs
by as much as its own spread (unsigned 1.9-3.2x); the median of 31 alternating pairs moves far less.
Each timed run includes its one-off costs (building the guard extension and its in-memory journal,
the session's set-up and its trace stored at the end: about 0.9 ms of CPU per guarded run, ~0.45 us per
send at 2000 sends), so a ratio slightly overstates the per-send cost. `cachegrind` instruction counts
of N and 3N sends (their difference over 2N) give the per-send cost alone.

A third table is the durable journal (a file, WAL, `synchronous=FULL`, real disk syncs, wall time):
16 concurrent sessions each sending guarded messages with a journal fact through `send_guarded`. The
baseline commits each send alone (one disk sync per send, what `commit` does); group commit shares the
sync among the sends waiting on it. The last row runs 16 runtime sessions of the bench protocol, whose
endpoints wait on the group commit. It prints sends/s, the mean batch size and the ratio.

A fourth table measures Ed25519 itself (signing stays per message): sign and verify per receipt, and
the options of taking verification off the event loop: each receipt handed to a worker thread and
awaited (what an off-loop `on_receive` would cost per message), a batch of receipts on 2 threads
against one, and how fast the loop runs Python while a worker thread verifies a batch (cryptography has
no batch verification; threads only help if it releases the GIL and a core is free). It also prints
the disk's sync latency.

Run: .venv/bin/python bench/bench_guards.py [--sends N] [--rounds R] [--durable-seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import os
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from statistics import median
from typing import NamedTuple

import cryptography
import msgspec

from aura_choreo.guards import Policy, build_guard_extension, parse_policy
from aura_choreo.guards.chain import Attachments, OutgoingSend
from aura_choreo.guards.receipts import DeviceKey, ReceiptSigner
from aura_choreo.journal import Fact, FactId, JournalStore
from aura_choreo.protocol import Protocol, choreography
from aura_choreo.runtime.extensions import Extension, ExtensionRegistry, StepContext
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

ANNOTATIONS = (
    ("guard_capability", "admin_access,audit_logs"),
    ("flow_cost", 1),
    ("leakage_budget", (0, 0, 0)),
    ("journal_facts", "pinged"),
)


GUARDS = """[guard_capability = "admin_access,audit_logs", flow_cost = 1,
                      leakage_budget = [0, 0, 0], journal_facts = "pinged"]"""
SESSIONS = 16
"""Concurrent sessions of the durable-journal table."""
SIGNED_SHARE = 4
"""Signed runs (and their baselines) send this many times fewer messages: a receipt costs ~30 sends."""


def protocol(sends: int, *, annotated: bool = True) -> Protocol:
    return choreography(
        f"""
        protocol GuardBench {{
            roles: Admin, User;
            loop (count: {sends}) {{
                Admin{GUARDS if annotated else ""}
                -> User: Ping(n: u64);
            }}
        }}
        """
    )


def policy(*, signing: bool) -> Policy:
    return parse_policy(
        {
            "signing": signing,
            "defaults": {"flow_limit": 10**15},
            "devices": {"alice": {"capabilities": ["admin_access", "audit_logs"]}},
            "roles": {"Admin": "alice", "User": "bob"},
        }
    )


class NoOpHooks(Extension):
    """Send hooks of its own that do nothing: the runtime takes its hooked send path for them."""

    def before_send(self, ctx: StepContext) -> None:
        return None

    def after_send(self, ctx: StepContext, accepted: bool) -> None:
        return None


def runtime_run(
    sends: int, guards: Policy | None, *, annotated: bool = True, hooks_only: bool = False
) -> Callable[[], Awaitable[None]]:
    bench = protocol(sends, annotated=annotated)

    async def run() -> None:
        registry = ExtensionRegistry()
        if guards is not None:
            build_guard_extension(guards).install(registry)
        if hooks_only:
            registry.register_all(NoOpHooks())
        await run_session(bench.session(extensions=registry), InMemoryTransport())

    return run


def envelope(seq: int, attachments: dict[str, bytes]) -> dict[str, object]:
    return {
        "session": "s1",
        "from": "Admin",
        "to": "User",
        "label": "Ping",
        "seq": seq,
        "n": seq,
        "ext": attachments,
    }


def loop_run(sends: int, guards: Policy | None) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        chain = guards.build_chain() if guards is not None else None
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        send = OutgoingSend("bench.Guards", "s1", "Admin", "alice", "User", "bob", "Ping", ANNOTATIONS)
        for seq in range(sends):
            prepared = chain.prepare(send) if chain is not None else None
            wire = prepared.attachments.to_wire() if prepared is not None else {}
            await queue.put(msgspec.msgpack.encode(envelope(seq, wire)))
            if chain is not None and prepared is not None:
                chain.commit(prepared)
            received = msgspec.msgpack.decode(await queue.get())
            if chain is not None:
                attachments = Attachments.from_wire(received["ext"])
                chain.accept(sender_device="alice", receiver_device="bob", attachments=attachments)

    return run


Run = Callable[[], Awaitable[None]]


def cpu_seconds(run: Run) -> float:
    """CPU seconds of this process for one `run` (garbage of earlier runs collected first, outside it:
    each run pays for its own)."""
    gc.collect()
    started = time.process_time()
    asyncio.run(run())
    return time.process_time() - started


class Paired(NamedTuple):
    """One variant measured against its baseline: per round, the variant's and the baseline's seconds
    per send, each pair run back to back."""

    name: str
    variant: list[float]
    baseline: list[float]

    def ratios(self) -> list[float]:
        return [v / b for v, b in zip(self.variant, self.baseline, strict=True)]

    def overheads(self) -> list[float]:
        return [v - b for v, b in zip(self.variant, self.baseline, strict=True)]


def paired(variants: list[tuple[str, Run, Run, int]], rounds: int) -> list[Paired]:
    """Each (name, variant, baseline, sends) timed `rounds` times, every variant run right next to a run
    of its baseline (the baseline first in even rounds, second in odd ones; variants interleaved within
    a round). The machine is shared: a load swing then hits both runs of a pair alike, and the median of
    the pairs' ratios ignores the rounds a neighbour disturbed one run of."""
    results = [Paired(name, [], []) for name, _, _, _ in variants]
    for index in range(rounds):
        for result, (_, variant, baseline, sends) in zip(results, variants, strict=True):
            if index % 2 == 0:
                base, seconds = cpu_seconds(baseline), cpu_seconds(variant)
            else:
                seconds, base = cpu_seconds(variant), cpu_seconds(baseline)
            result.variant.append(seconds / sends)
            result.baseline.append(base / sends)
    return results


def table(title: str, baseline: str, results: list[Paired]) -> None:
    """Per variant: median us/send, the median of its paired ratios with their range (min-max over the
    rounds), and the median overhead per send over its paired baseline."""
    print(title)
    print(f"  {'variant':34} {'us/send':>8} {'ratio':>7} {'range':>13} {'overhead us':>12}")
    bases = [b for result in results for b in result.baseline]
    print(f"  {baseline:34} {median(bases) * 1e6:8.1f} {1.0:6.2f}x")
    for result in results:
        ratios = result.ratios()
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}x"
        print(
            f"  {result.name:34} {median(result.variant) * 1e6:8.1f} {median(ratios):6.2f}x {spread:>13}"
            f" {median(result.overheads()) * 1e6:12.1f}"
        )


def durable_run(path: str, *, grouped: bool, seconds: float) -> tuple[float, float]:
    """Guarded sends/s of `SESSIONS` concurrent sessions on a file journal, and the mean batch size."""
    guards = parse_policy(
        {
            "signing": False,
            "journal": path,
            "synchronous": "FULL",
            "defaults": {"flow_limit": 10**15},
            "devices": {"alice": {"capabilities": ["admin_access", "audit_logs"]}},
            "roles": {"Admin": "alice", "User": "bob"},
        }
    )
    chain = guards.build_chain()
    assert chain.store is not None and chain.store.settings() == {
        "journal_mode": "WAL",
        "synchronous": "FULL",
    }
    sent = 0

    async def session(index: int, until: float) -> None:
        nonlocal sent
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        send = OutgoingSend("bench.Guards", f"s{index}", "Admin", "alice", "User", "bob", "Ping", ANNOTATIONS)

        async def transmit(attachments: Attachments, seq: int) -> None:
            await queue.put(msgspec.msgpack.encode(envelope(seq, attachments.to_wire())))

        seq = 0
        while time.perf_counter() < until:
            seq += 1
            if grouped:
                await chain.send_guarded(send, lambda a, seq=seq: transmit(a, seq))
            else:
                prepared = chain.prepare(send)
                await transmit(prepared.attachments, seq)
                chain.commit(prepared)  # this send's own transaction: one disk sync
            msgspec.msgpack.decode(await queue.get())
            sent += 1

    async def run() -> float:
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(session(i, until) for i in range(SESSIONS)))
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    group = chain.store.group
    batch = group.items / group.batches if group.batches else 1.0
    facts = len(chain.store.load_facts("alice"))
    chain.store.close()
    assert facts == sent, f"{sent} sends acknowledged but {facts} facts stored"
    return sent / elapsed, batch


def disk_sync_ms(folder: str) -> float:
    """Median milliseconds of a one-row commit with synchronous=FULL: what one disk sync costs here now."""
    store = JournalStore(f"{folder}/sync.db")
    times = []
    for n in range(1, 21):
        started = time.perf_counter()
        store.append_facts("probe", [Fact(FactId("probe", n), "probe")])
        times.append(time.perf_counter() - started)
    store.close()
    return sorted(times)[len(times) // 2] * 1e3


Pairs = list[tuple[bytes, bytes]]
"""(signature, signed bytes) of receipts."""


def ed25519_table(count: int = 400) -> None:
    key = DeviceKey.generate("alice")
    signer = ReceiptSigner(key)
    receipts = [signer.issue("ctx/s/A->B", "bob", epoch=0, cost=1) for _ in range(count)]
    public = key.public_key
    pairs = [(r.signature, r.signed_bytes()) for r in receipts]

    def verify(chunk: list[tuple[bytes, bytes]]) -> None:
        for signature, body in chunk:
            public.verify(signature, body)

    started = time.process_time()
    ReceiptSigner(key).issue("ctx/s/A->B", "bob", epoch=0, cost=1)
    for _ in range(count - 1):
        key.private_key.sign(pairs[0][1])
    sign_us = (time.process_time() - started) / count * 1e6
    started = time.process_time()
    verify(pairs)
    verify_us = (time.process_time() - started) / count * 1e6
    one, handed, two, spare = [], [], [], []
    for _ in range(5):  # rounds, each option in turn: medians
        started = time.perf_counter()
        verify(pairs)
        one.append(time.perf_counter() - started)
        handed.append(asyncio.run(verify_handed_off(verify, pairs)))
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            started = time.perf_counter()
            list(pool.map(verify, [pairs[: count // 2], pairs[count // 2 :]]))
            two.append(time.perf_counter() - started)
        spare.append(loop_spare(verify, pairs))
    each = median(one) / count * 1e6
    print(f"Ed25519 (cryptography {cryptography.__version__}; no batch verification), {count} receipts")
    print(f"  sign {sign_us:.1f} us CPU, verify {verify_us:.1f} us CPU per receipt")
    print(f"  verify one by one on the loop: {each:.1f} us wall per receipt (the loop waits all of it)")
    print(
        f"  each receipt handed to a worker thread and awaited: {median(handed) / count * 1e6:.1f} us wall "
        f"per receipt ({median(handed) / median(one):.2f}x on the loop)"
    )
    print(f"  a batch on 2 threads vs 1 (wall): {median(one) / median(two):.2f}x throughput")
    print(
        f"  a batch on a worker thread: the loop keeps {median(spare):.0%} of its own speed meanwhile "
        "(100%: verification releases the GIL and a core is free)"
    )


async def verify_handed_off(verify: Callable[[Pairs], None], pairs: Pairs) -> float:
    """Wall seconds to verify `pairs` one at a time on a worker thread, the loop awaiting each."""
    loop = asyncio.get_running_loop()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        started = time.perf_counter()
        for pair in pairs:
            await loop.run_in_executor(pool, verify, [pair])
        return time.perf_counter() - started


def loop_spare(verify: Callable[[Pairs], None], pairs: Pairs) -> float:
    """The loop thread's Python speed while a worker thread verifies `pairs`, against its speed alone."""

    def spin(until: Callable[[], bool]) -> float:
        count, started = 0, time.perf_counter()
        while not until():
            count += 1
        return count / (time.perf_counter() - started)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        work = pool.submit(verify, pairs)
        busy = spin(work.done)
    idle: concurrent.futures.Future[None] = concurrent.futures.Future()
    timer = threading.Timer(0.05, idle.set_result, (None,))  # the same check per turn as above
    timer.start()
    alone = spin(idle.done)
    timer.join()
    return busy / alone


def durable_runtime_run(path: str, sends: int) -> tuple[float, float]:
    """Guarded sends/s of `SESSIONS` concurrent runtime sessions (the bench protocol, `sends` each) on a
    file journal: the endpoint waits on each send's group commit. Also the mean batch size."""
    guards = parse_policy(
        {
            "signing": False,
            "journal": path,
            "defaults": {"flow_limit": 10**15},
            "devices": {"alice": {"capabilities": ["admin_access", "audit_logs"]}},
            "roles": {"Admin": "alice", "User": "bob"},
        }
    )
    extension = build_guard_extension(guards)
    registry = extension.install(ExtensionRegistry())
    bench = protocol(sends)

    async def run() -> float:
        started = time.perf_counter()
        sessions = [bench.session(extensions=registry) for _ in range(SESSIONS)]
        await asyncio.gather(*(run_session(s, InMemoryTransport()) for s in sessions))
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    store = extension.chain.store
    assert store is not None
    batch = store.group.items / store.group.batches if store.group.batches else 1.0
    facts = len(store.load_facts("alice"))
    store.close()
    assert facts == SESSIONS * sends, f"{SESSIONS * sends} sends but {facts} facts stored"
    return facts / elapsed, batch


def main() -> None:
    parser = argparse.ArgumentParser(description="Per-send overhead of the guard chain.")
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--durable-seconds", type=float, default=3.0)
    args = parser.parse_args()
    n, r = args.sends, args.rounds
    few = max(1, n // SIGNED_SHARE)
    unsigned, signed = policy(signing=False), policy(signing=True)
    print(
        f"{n} sends per run ({few} signed), {r} rounds; CPU time of this process; each variant paired "
        "with a baseline run next to it: ratio = median of the pairs' ratios, range = min-max"
    )
    bare = runtime_run(n, None)
    runs = [
        ("extension hooks only (no guard)", runtime_run(n, None, hooks_only=True), bare, n),
        ("guard chain, default profile", runtime_run(n, unsigned, annotated=False), bare, n),
        ("guard chain, no signing", runtime_run(n, unsigned), bare, n),
        ("guard chain + Ed25519 receipts", runtime_run(few, signed), runtime_run(few, None), few),
    ]
    table(
        "runtime session (Admin -> User: Ping, in-memory transport, default behaviour)",
        "bare runtime (baseline)",
        paired(runs, r),
    )
    bare = loop_run(n, None)
    runs = [
        ("guard chain, no signing", loop_run(n, unsigned), bare, n),
        ("guard chain + Ed25519 receipts", loop_run(few, signed), loop_run(few, None), few),
    ]
    table("chain alone (msgpack encode + asyncio queue, no runtime)", "bare loop (baseline)", paired(runs, r))

    seconds = args.durable_seconds
    print(
        f"durable journal (file, WAL, synchronous=FULL), {SESSIONS} concurrent sessions, {seconds:g} s each"
    )
    print(f"  {'variant':34} {'sends/s':>10} {'ratio':>8} {'batch':>8}")
    with tempfile.TemporaryDirectory() as folder:
        sync_ms = disk_sync_ms(folder)
        one, _ = durable_run(f"{folder}/alone.db", grouped=False, seconds=seconds)
        many, batch = durable_run(f"{folder}/grouped.db", grouped=True, seconds=seconds)
        runtime, runtime_batch = durable_runtime_run(
            f"{folder}/runtime.db", max(1, int(many * seconds) // SESSIONS)
        )
    print(f"  {'commit per send (baseline)':34} {one:10.0f} {1.0:7.2f}x {1.0:8.1f}")
    print(f"  {'group commit (send_guarded)':34} {many:10.0f} {many / one:7.2f}x {batch:8.1f}")
    print(
        f"  {'group commit (runtime sessions)':34} {runtime:10.0f} {runtime / one:7.2f}x {runtime_batch:8.1f}"
    )
    print(f"  (one disk sync: {sync_ms:.2f} ms median; load {os.getloadavg()[0]:.1f})")
    ed25519_table()


if __name__ == "__main__":
    main()
