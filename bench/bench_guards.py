"""Per-send overhead of the guard chain (with and without Ed25519 receipts) against the bare runtime.

All variants run in the same process and run: a two-role session `Admin -> User: Ping(n)` repeated in
a counted loop over the in-memory transport, driven by the default behaviour.
- bare runtime (baseline): no extension registered;
- guard chain, no signing: capability check, flow and leakage budgets, journal facts committed to an
  in-memory SQLite journal, receive-side checks;
- guard chain + receipts: the same plus an Ed25519 receipt signed by the sender and verified by the
  receiver, hash-chained.
A second table times the chain alone (prepare/commit/accept around a msgpack encode and an asyncio
queue, no runtime), against that bare loop, to show what the chain itself costs.

Run: .venv/bin/python bench/bench_guards.py [--sends N] [--repeats R]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

import msgspec

from aura_choreo.guards import Policy, build_guard_extension, parse_policy
from aura_choreo.guards.chain import Attachments, OutgoingSend
from aura_choreo.protocol import Protocol, choreography
from aura_choreo.runtime.extensions import ExtensionRegistry
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

ANNOTATIONS = (
    ("guard_capability", "admin_access,audit_logs"),
    ("flow_cost", 1),
    ("leakage_budget", (0, 0, 0)),
    ("journal_facts", "pinged"),
)


def protocol(sends: int) -> Protocol:
    return choreography(
        f"""
        protocol GuardBench {{
            roles: Admin, User;
            loop (count: {sends}) {{
                Admin[guard_capability = "admin_access,audit_logs", flow_cost = 1,
                      leakage_budget = [0, 0, 0], journal_facts = "pinged"]
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


def runtime_run(sends: int, guards: Policy | None) -> Callable[[], Awaitable[None]]:
    bench = protocol(sends)

    async def run() -> None:
        registry = ExtensionRegistry()
        if guards is not None:
            build_guard_extension(guards).install(registry)
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


def per_send(run: Callable[[], Awaitable[None]], sends: int, repeats: int) -> float:
    """Best seconds per send over `repeats` runs (the minimum filters out scheduler noise)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        asyncio.run(run())
        best = min(best, time.perf_counter() - started)
    return best / sends


def table(title: str, rows: list[tuple[str, float]]) -> None:
    baseline = rows[0][1]
    print(title)
    print(f"  {'variant':34} {'us/send':>10} {'ratio':>8} {'overhead us':>12}")
    for name, seconds in rows:
        print(
            f"  {name:34} {seconds * 1e6:10.1f} {seconds / baseline:7.2f}x {(seconds - baseline) * 1e6:12.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="Per-send overhead of the guard chain.")
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n, r = args.sends, args.repeats
    unsigned, signed = policy(signing=False), policy(signing=True)
    print(f"{n} sends per run, best of {r}")
    table(
        "runtime session (Admin -> User: Ping, in-memory transport, default behaviour)",
        [
            ("bare runtime (baseline)", per_send(runtime_run(n, None), n, r)),
            ("guard chain, no signing", per_send(runtime_run(n, unsigned), n, r)),
            ("guard chain + Ed25519 receipts", per_send(runtime_run(n, signed), n, r)),
        ],
    )
    table(
        "chain alone (msgpack encode + asyncio queue, no runtime)",
        [
            ("bare loop (baseline)", per_send(loop_run(n, None), n, r)),
            ("guard chain, no signing", per_send(loop_run(n, unsigned), n, r)),
            ("guard chain + Ed25519 receipts", per_send(loop_run(n, signed), n, r)),
        ],
    )


if __name__ == "__main__":
    main()
