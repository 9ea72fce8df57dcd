"""Anti-entropy and CRDT sync: bytes on the wire against the difference, and latency.

1. Efficiency: two ORSet replicas of 10,000 entries that differ in 1% (100 entries only one side has)
   reconcile over `anti_entropy.choreo`. The bytes both sides put in messages are compared with the
   bytes of the missing entries themselves plus the two digests (the bar: at most 10x the missing
   entries plus the digest), and with the baseline measured in the same run: a state-based sync of
   the same replicas (`CrdtCoordinator` in `state` mode), which ships everything.
2. Latency on the in-memory transport and on `tcp://` (two devices in this process, each with its own
   TLS 1.3 transport on loopback, pinned keys), against the reference numbers (5-10 ms per CRDT sync,
   50-200 ms per anti-entropy round): a delta-mode CRDT sync of a few changes to a 10,000-entry set,
   and one anti-entropy round between the two 10,000-entry replicas (digests of 10,000 ids each way).
   Over TCP every exchange also registers its session with the peer (one JOIN/ACCEPT round trip on the
   shared connection), which is part of what is measured.
3. Causal delivery (`CausalBuffer.receive`, operations mode): a chain of N operations of one writer
   arriving in reverse causal order in one batch (all but the last wait for a cause), against the
   baseline of the same chain arriving in causal order (each ready on arrival). A buffer that swept
   its waiting operations until nothing more was ready took N sweeps for the reversed chain (ratio
   ~N/2); indexed by the dependency each lacks, the ratio stays near 1 as N grows.

Run: .venv/bin/python bench/bench_antientropy.py [--entries N] [--repeats R] [--causal N]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from aura_choreo.orchestration.antientropy import AntiEntropy
from aura_choreo.orchestration.coordinator import CrdtCoordinator
from aura_choreo.orchestration.crdt import CausalBuffer, Dot, Operation, ORSet, entry_map
from aura_choreo.orchestration.entries import CrdtEntries
from aura_choreo.orchestration.exchange import Device
from aura_choreo.transports.carrier import TcpTransport
from aura_choreo.transports.inmemory import InMemoryTransport
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.peering import PeerDevice

Devices = Callable[[], "AsyncIterator[tuple[Device, Device]]"]


@asynccontextmanager
async def in_memory() -> AsyncIterator[tuple[Device, Device]]:
    transport = InMemoryTransport()
    async with Device("a", transport) as a, Device("b", transport) as b:
        yield a, b


@asynccontextmanager
async def over_tcp() -> AsyncIterator[tuple[Device, Device]]:
    """Two devices, each with its own TLS 1.3 transport listening on loopback."""
    ids = {name: Identity.generate(name) for name in ("a", "b")}
    sockets = [socket.socket() for _ in ids]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    addresses = {name: f"tcp://127.0.0.1:{s.getsockname()[1]}" for name, s in zip(ids, sockets, strict=True)}
    for s in sockets:
        s.close()
    async with AsyncExitStack() as stack:
        devices = []
        for name, identity in ids.items():
            other = "b" if name == "a" else "a"
            peers = {other: PeerDevice(other, ids[other].public_bytes, addresses[other])}
            net = await stack.enter_async_context(TcpTransport(identity, peers, listen=addresses[name]))
            devices.append(await stack.enter_async_context(Device(name, net)))
        yield devices[0], devices[1]


def replicas(entries: int, differ: int) -> tuple[ORSet, ORSet]:
    """Two sets of `entries` adds; the second lacks the last `differ` of the first's."""
    # Built in one go: adding 10,000 elements one at a time copies the immutable set each time.
    adds = [(f"item-{i:06d}", Dot(f"w{i % 7}", i // 7 + 1)) for i in range(entries)]
    return ORSet(frozenset(adds)), ORSet(frozenset(adds[: entries - differ]))


async def efficiency(entries: int) -> dict[str, float]:
    differ = entries // 100
    left, right = replicas(entries, differ)
    theirs = entry_map(right)
    missing = {eid: e for eid, e in entry_map(left).items() if eid not in theirs}
    missing_bytes = sum(len(e.to_bytes()) for e in missing.values())
    async with in_memory() as (a, b):
        x, y = AntiEntropy(a, CrdtEntries("s", left)), AntiEntropy(b, CrdtEntries("s", right))
        started = time.perf_counter()
        await x.reconcile(y)
        elapsed = time.perf_counter() - started
        assert y.entries.value.merge(left) == y.entries.value or x.metrics.entries_sent < differ
        sent = x.metrics.bytes_sent + y.metrics.bytes_sent
        digests = x.metrics.digest_bytes_sent + y.metrics.digest_bytes_sent
        s, t = CrdtCoordinator(a, "s", left, mode="state"), CrdtCoordinator(b, "s", right, mode="state")
        await s.sync_with(t)
        state_bytes = s.metrics.bytes_sent + t.metrics.bytes_sent
    return {
        "entries": entries,
        "missing": len(missing),
        "sent_entries": x.metrics.entries_sent + y.metrics.entries_sent,
        "missing_bytes": missing_bytes,
        "digest_bytes": digests,
        "sent": sent,
        "state_bytes": state_bytes,
        "first_round_s": elapsed,
    }


CPU: dict[str, float] = {}
"""Per measurement, this process's CPU seconds per run (both devices run here): on a busy machine the
wall-clock median includes waiting for the CPU, the CPU time does not."""


async def timed(repeats: int, run: Callable[[], Awaitable[None]], name: str = "") -> float:
    samples = []
    cpu = time.process_time()
    for _ in range(repeats):
        started = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - started)
    if name:
        CPU[name] = (time.process_time() - cpu) / repeats
    return statistics.median(samples)


async def latency(devices: Devices, entries: int, repeats: int) -> dict[str, float]:
    left, right = replicas(entries, entries // 100)
    async with devices() as (a, b):
        x = CrdtCoordinator(a, "s", left, mode="delta")
        y = CrdtCoordinator(b, "s", right, mode="delta")
        await x.sync_with(y)  # first contact ships the state; later syncs ship deltas
        counter = iter(range(10**9))

        async def crdt_sync() -> None:
            for _ in range(3):
                x.apply(lambda s: s.add("a", f"new-{next(counter)}"))
            await x.sync_with(y)

        sync_s = await timed(repeats, crdt_sync, "crdt_sync_s")
        state_x = CrdtCoordinator(a, "s", left, mode="state")
        state_y = CrdtCoordinator(b, "s", right, mode="state")
        state_s = await timed(max(1, repeats // 4), lambda: state_x.sync_with(state_y))
        p, q = AntiEntropy(a, CrdtEntries("s", left)), AntiEntropy(b, CrdtEntries("s", right))
        await p.reconcile(q)  # first round: builds the entry-id caches

        async def round_trip() -> None:
            p.entries.apply(lambda s: s.add("a", f"fresh-{next(counter)}"))  # type: ignore[attr-defined]
            await p.reconcile(q)

        round_s = await timed(max(1, repeats // 4), round_trip, "round_s")
    return {"crdt_sync_s": sync_s, "state_sync_s": state_s, "round_s": round_s}


def causal_delivery(count: int) -> dict[str, float]:
    """CPU seconds of one `receive` of a `count`-operation chain, in causal and in reverse order."""
    sender, chain = CausalBuffer(), list[Operation]()
    for n in range(count):
        sender, op = sender.stamp("w", n.to_bytes(4, "big"))
        chain.append(op)
    result: dict[str, float] = {}
    for name, batch in (("in_order", chain), ("reversed", chain[::-1])):
        samples = []
        for _ in range(3):
            started = time.process_time()
            _, ready = CausalBuffer().receive(batch)
            samples.append(time.process_time() - started)
            assert ready == chain  # delivered in causal order either way
        result[name] = min(samples)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--causal", type=int, default=5000, help="operations in the causal-delivery chain")
    args = parser.parse_args()
    eff = asyncio.run(efficiency(args.entries))
    bar = 10 * eff["missing_bytes"] + eff["digest_bytes"]
    print(
        f"== anti-entropy efficiency: {eff['entries']:,} entries per replica, {eff['missing']} missing (1%)"
    )
    print(
        f"  missing entries themselves     {eff['missing_bytes']:>10,} bytes"
        f" ({eff['sent_entries']} entries sent)"
    )
    print(f"  digests (two Bloom filters)    {eff['digest_bytes']:>10,} bytes")
    print(f"  anti-entropy, all messages     {eff['sent']:>10,} bytes")
    print(
        f"  bar: 10x missing + digest      {bar:>10,} bytes  -> {'ok' if eff['sent'] <= bar else 'OVER'}"
        f" ({eff['sent'] / bar:.2f} of the bar)"
    )
    print(
        f"  baseline: state-based sync     {eff['state_bytes']:>10,} bytes"
        f"  -> anti-entropy sends {eff['sent'] / eff['state_bytes']:.3f}x of it"
    )
    for name, devices in (("in-memory transport", in_memory), ("tcp:// (TLS 1.3, loopback)", over_tcp)):
        lat = asyncio.run(latency(devices, args.entries, args.repeats))
        print(f"== latency, {name} (median)")
        sync_ms = lat["crdt_sync_s"] * 1e3
        what = f"CRDT sync (delta mode, 3 changes, {args.entries:,}-entry set)"
        print(f"  {what} {sync_ms:8.2f} ms   reference 5-10 ms  (cpu {CPU['crdt_sync_s'] * 1e3:.2f} ms)")
        print(
            f"  baseline: state-mode sync of the same set            {lat['state_sync_s'] * 1e3:8.2f} ms"
            f"   (delta is {lat['state_sync_s'] / lat['crdt_sync_s']:.1f}x faster)"
        )
        print(
            f"  anti-entropy round ({args.entries:,} ids per digest)           {lat['round_s'] * 1e3:8.2f} ms"
            f"   reference 50-200 ms  (cpu {CPU['round_s'] * 1e3:.1f} ms)"
        )
    cd = causal_delivery(args.causal)
    print(f"== causal delivery: a {args.causal:,}-operation chain in one batch (cpu, best of 3)")
    print(f"  baseline: in causal order          {cd['in_order'] * 1e3:8.2f} ms")
    print(
        f"  reverse causal order               {cd['reversed'] * 1e3:8.2f} ms"
        f"   ({cd['reversed'] / cd['in_order']:.2f}x the baseline)"
    )


if __name__ == "__main__":
    main()
