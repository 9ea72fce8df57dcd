"""Anti-entropy under faults (SPEC §8.3): five replicas split 2/3 while both sides write, then healed,
over the simulated transport (20% drop, 10% duplicates) on virtual time. Every CRDT type converges
within a bounded number of rounds; the test prints the rounds and bytes it took."""

from __future__ import annotations

import random
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from aura_choreo.orchestration.antientropy import AntiEntropy, PeerSelection
from aura_choreo.orchestration.crdt import (
    Crdt,
    GCounter,
    LWWRegister,
    MVRegister,
    ORMap,
    ORSet,
    PNCounter,
    VectorClock,
)
from aura_choreo.orchestration.entries import CrdtEntries
from aura_choreo.orchestration.exchange import Device, ExchangeOptions
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.faults import Partition
from aura_choreo.transports.network import FixedLatency, LinkModel, NetworkModel
from aura_choreo.transports.simulated import SimulatedTransport

NAMES = ("r0", "r1", "r2", "r3", "r4")
HEAL_MS = 20_000.0
MAX_ROUNDS_AFTER_HEAL = 12


@dataclass(frozen=True)
class Split(Partition):
    """Cut every link between `roles` and the others (each side still talks within itself)."""

    def cuts(self, src: str, dst: str, now_ms: float) -> bool:
        return self.start_ms <= now_ms < self.end_ms and (src in self.roles) != (dst in self.roles)


def write(kind: type[Crdt], replica: str, n: int) -> Any:
    """The n-th write of `replica` for a CRDT of `kind` (an operation returning (new, delta))."""
    ops: dict[type[Crdt], Any] = {
        VectorClock: lambda c: c.increment(replica),
        GCounter: lambda c: c.increment(replica, n + 1),
        PNCounter: lambda c: c.decrement(replica) if n % 3 == 0 else c.increment(replica, 2),
        LWWRegister: lambda c: c.assign(replica, f"{replica}:{n}"),
        MVRegister: lambda c: c.assign(replica, f"{replica}:{n}"),
        ORSet: lambda c: c.remove(replica, n - 2) if n % 4 == 3 else c.add(replica, n),
        ORMap: lambda c: c.update(replica, f"k{n % 3}", PNCounter(), lambda p: p.increment(replica)),
    }
    return ops[kind]


async def partition_and_heal(
    kind: type[Crdt], seed: int, selection: PeerSelection
) -> tuple[int, int, int, list[Any]]:
    model = NetworkModel(LinkModel(latency=FixedLatency(5.0), drop=0.2, duplicate=0.1))
    transport = SimulatedTransport(model, (Split(("r0", "r1"), 0.0, HEAL_MS),), seed=seed)
    rng = random.Random(seed)
    async with AsyncExitStack() as stack:
        devices = [await stack.enter_async_context(Device(name, transport)) for name in NAMES]
        replicas = [CrdtEntries(kind.KIND, kind.empty()) for _ in NAMES]
        agents = [
            AntiEntropy(d, r, selection=selection, seed=seed, options=ExchangeOptions(peer_timeout=0.5))
            for d, r in zip(devices, replicas, strict=True)
        ]
        for agent in agents:
            agent.add_peers(*agents)
        for index in (0, 4):  # each side writes at least once
            replicas[index].apply(write(kind, NAMES[index], index))
        writes, partitioned, apart = 2, True, []
        while partitioned:  # both sides write, and gossip within their side
            for index, agent in enumerate(agents):
                if transport.now_ms() >= HEAL_MS:
                    partitioned = False
                    break
                if rng.random() < 0.5:
                    replicas[index].apply(write(kind, NAMES[index], writes))
                    writes += 1
                if transport.now_ms() < HEAL_MS - 2_000:  # (no exchange straddles the heal)
                    # r4 wrote during the split, and none of it reached r0.
                    assert replicas[0].value.merge(replicas[4].value) != replicas[0].value
                    apart = [r.value for r in replicas]
                await agent.run_round()
        assert apart[0].merge(apart[4]) != apart[0]
        bytes_before = sum(a.metrics.bytes_sent for a in agents)
        for rounds in range(1, MAX_ROUNDS_AFTER_HEAL + 1):
            for agent in agents:
                await agent.run_round()
            if all(r.value == replicas[0].value for r in replicas):
                sent = sum(a.metrics.bytes_sent for a in agents) - bytes_before
                assert transport.stats.lost > 0 and transport.stats.duplicated > 0
                return rounds, sent, writes, [r.value.value for r in replicas]
        pytest.fail(f"{kind.KIND}: not converged {MAX_ROUNDS_AFTER_HEAL} rounds after the partition healed")


@pytest.mark.parametrize("kind", [VectorClock, GCounter, PNCounter, LWWRegister, MVRegister, ORSet, ORMap])
def test_replicas_converge_after_a_partition_heals(kind: type[Crdt]) -> None:
    for seed, selection in ((1, PeerSelection.random(1)), (2, PeerSelection.round_robin(1))):
        rounds, sent, writes, values = run_virtual(partition_and_heal(kind, seed, selection))
        print(
            f"{kind.KIND} seed {seed} ({selection.strategy}, k=1): {writes} writes in the split; converged"
            f" {rounds} round(s) after healing, {sent} bytes sent by all replicas in those rounds"
        )
        assert all(v == values[0] for v in values)
