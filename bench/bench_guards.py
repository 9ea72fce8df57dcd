"""Per-send overhead of the guard chain (with and without Ed25519 receipts) against a bare send.

Baseline, measured in the same run: a bare loop doing the same work per message without guards
(build the envelope, encode it with msgpack, hand it through an asyncio queue, decode it). Each guarded
variant does the same plus the whole chain on both sides: prepare (capability, flow, leakage, journal
reservation, receipt), attachments on the envelope, commit (facts into an in-memory SQLite journal),
and on receipt the receiver's `accept` (receipt verification, journal merge).

Run: .venv/bin/python bench/bench_guards.py [--sends N]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

import msgspec

from aura_choreo.guards import Attachments, OutgoingSend, parse_policy

ANNOTATIONS = (
    ("guard_capability", "admin_access,audit_logs"),
    ("flow_cost", 1),
    ("leakage_budget", (0, 0, 0)),
    ("journal_facts", "granted"),
)


def envelope(seq: int, attachments: dict[str, bytes]) -> dict[str, object]:
    return {
        "v": 1,
        "session": "s1",
        "protocol": "bench.Guards",
        "from": "Admin",
        "to": "User",
        "label": "Grant",
        "seq": seq,
        "payload": {"permission": "write", "level": seq % 7},
        "ext": attachments,
    }


async def bare(sends: int) -> None:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for seq in range(sends):
        await queue.put(msgspec.msgpack.encode(envelope(seq, {})))
        msgspec.msgpack.decode(await queue.get())


def guarded(*, signing: bool) -> Callable[[int], Awaitable[None]]:
    policy = parse_policy(
        {
            "signing": signing,
            "defaults": {"flow_limit": 10**15},
            "devices": {"alice": {"capabilities": ["admin_access", "audit_logs"]}},
            "roles": {"Admin": "alice", "User": "bob"},
        }
    )

    async def run(sends: int) -> None:
        chain = policy.build_chain()
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for seq in range(sends):
            send = OutgoingSend("bench.Guards", "s1", "Admin", "alice", "User", "bob", "Grant", ANNOTATIONS)
            prepared = chain.prepare(send)
            await queue.put(msgspec.msgpack.encode(envelope(seq, prepared.attachments.to_wire())))
            chain.commit(prepared)
            received = msgspec.msgpack.decode(await queue.get())
            chain.accept(
                sender_device="alice",
                receiver_device="bob",
                attachments=Attachments.from_wire(received["ext"]),
            )

    return run


def measure(run: Callable[[int], Awaitable[None]], sends: int, repeats: int) -> float:
    """Best seconds per send over `repeats` runs (the minimum filters out scheduler noise)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        asyncio.run(run(sends))
        best = min(best, time.perf_counter() - started)
    return best / sends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    baseline = measure(bare, args.sends, args.repeats)
    rows = [("bare send (baseline)", baseline)]
    rows.append(("guard chain, no signing", measure(guarded(signing=False), args.sends, args.repeats)))
    rows.append(("guard chain + Ed25519 receipts", measure(guarded(signing=True), args.sends, args.repeats)))
    print(f"{args.sends} sends, best of {args.repeats}")
    print(f"{'variant':34} {'us/send':>10} {'ratio':>8}")
    for name, seconds in rows:
        print(f"{name:34} {seconds * 1e6:10.1f} {seconds / baseline:7.1f}x")


if __name__ == "__main__":
    main()
