"""What author-signed journal facts cost a deployed guarded send (SPEC §5.4, `journal.signing`).

Two guard chains as two deployed devices build them (`Policy.build_chain(own_key=...)`, each pinning
the other's public key, receipts signed): alice sends `Ping` to bob, the chain alone around a msgpack
envelope (prepare, encode, commit; decode, accept; bob's version vector handed back to alice as its
next message would carry it). Journals in memory, so the numbers are CPU, not disk syncs.
- `journal_merge` send, one fact: alice signs her fact when the delta first carries it, bob verifies
  it before merging (the baseline: the same chains with their journals' `authors` taken away, which is
  what a deployed chain did before facts were signed);
- relay of k third-device facts: bob relays k facts carol wrote to dave (dave verifies each; bob
  signs nothing: the signatures came with the facts) against the same without signatures;
- unannotated send (default profile, no journal work): must stay at 1.00 (nothing is signed).
Each variant runs R times, each right next to a run of its baseline; CPU time of the process; the ratio
printed is the median of the R pairs' ratios with their range, and the per-send difference in us.

Run: .venv/bin/python bench/bench_fact_signing.py [--sends N] [--rounds R]
"""

from __future__ import annotations

import argparse
import base64
import time
from collections.abc import Callable
from statistics import median

import msgspec

from aura_choreo.guards import parse_policy
from aura_choreo.guards.chain import Attachments, GuardChain, OutgoingSend
from aura_choreo.guards.receipts import DeviceKey
from aura_choreo.journal import Fact, FactAuthors, FactId, FactLog

DEVICES = ("alice", "bob", "carol", "dave")
KEYS = {d: DeviceKey.from_seed(d, b"bench-fact-signing") for d in DEVICES}
MERGE = (("journal_facts", "pinged"), ("journal_merge", True))


def chains() -> dict[str, GuardChain]:
    """One deployed chain per device, each pinning every other device's key."""
    devices = {
        d: {"public_key": "ed25519:" + base64.b64encode(k.public_bytes()).decode()} for d, k in KEYS.items()
    }
    limits = {"flow_limit": 10**12}
    policy = parse_policy({"signing": True, "defaults": limits, "devices": devices, "roles": {}})
    return {d: policy.build_chain(own_key=KEYS[d], clock=lambda: 0.0) for d in DEVICES}


def unkeyed(chain: GuardChain, device: str) -> GuardChain:
    """The chain as it was before facts were signed: its journal neither signs nor checks."""
    chain.device(device).journal.authors = None
    return chain


def send_loop(annotations: tuple[tuple[str, object], ...], keyed: bool) -> Callable[[int], None]:
    built = chains()
    alice, bob = built["alice"], built["bob"]
    if not keyed:
        unkeyed(alice, "alice"), unkeyed(bob, "bob")
    send = OutgoingSend("bench.Facts", "s1", "Admin", "alice", "User", "bob", "Ping", annotations)
    sender, receiver = alice.device("alice").journal, bob.device("bob").journal

    def run(sends: int) -> None:
        for seq in range(sends):
            prepared = alice.prepare(send)
            frame = msgspec.msgpack.encode({"seq": seq, "ext": prepared.attachments.to_wire()})
            alice.commit(prepared)
            received = msgspec.msgpack.decode(frame)
            bob.accept(
                sender_device="alice",
                receiver_device="bob",
                attachments=Attachments.from_wire(received["ext"]),
            )
            sender.note_known("bob", receiver.version_vector())  # bob's next message would say so

    return run


def relay_loop(facts: int, keyed: bool, sends: int) -> Callable[[int], None]:
    """Dave receives bob's relay of `facts` facts carol wrote, per send (built before the clock starts:
    carol signed them, bob only passes the signatures on)."""
    dave = chains()["dave"].device("dave").journal
    if not keyed:
        dave.authors = None
    carol = FactAuthors("carol", KEYS["carol"].private_key.sign, {})
    frames = []
    for n in range(sends):
        delta = [
            Fact(FactId("carol", c), "approved", "p", "s", "R", "Ok", c, {"ticket": c})
            for c in range(n * facts + 1, (n + 1) * facts + 1)
        ]
        frames.append(msgspec.json.encode(FactLog.of(map(carol.sign, delta) if keyed else delta).to_wire()))

    def run(sends: int) -> None:
        for frame in frames[:sends]:
            dave.merge(FactLog.from_wire(msgspec.json.decode(frame)), from_device="bob")

    return run


def timed(run: Callable[[int], None], sends: int) -> float:
    started = time.process_time()
    run(sends)
    return time.process_time() - started


def paired(name: str, new: Callable[[], Callable[[int], None]], old: Callable[[], Callable[[int], None]],
           sends: int, rounds: int) -> None:  # fmt: skip
    ratios, extra = [], []
    for _ in range(rounds):
        a, b = timed(new(), sends), timed(old(), sends)
        ratios.append(a / b)
        extra.append((a - b) / sends * 1e6)
    print(
        f"{name:<44} {median(ratios):5.2f}x  (range {min(ratios):.2f}-{max(ratios):.2f})  "
        f"{median(extra):+7.1f} us/send"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    sends, rounds = args.sends, args.rounds
    print(
        f"signed facts vs the same deployed chains unsigned; {sends} sends x {rounds} paired rounds, CPU time"
    )
    paired("journal_merge send, 1 own fact", lambda: send_loop(MERGE, True), lambda: send_loop(MERGE, False),
           sends, rounds)  # fmt: skip
    paired("unannotated send (default profile)", lambda: send_loop((), True), lambda: send_loop((), False),
           sends, rounds)  # fmt: skip
    paired("receive a relay of 4 third-device facts", lambda: relay_loop(4, True, sends),
           lambda: relay_loop(4, False, sends), sends, rounds)  # fmt: skip


if __name__ == "__main__":
    main()
