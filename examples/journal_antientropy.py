"""Three devices' fact journals converge by anti-entropy, with no `journal_merge` send anywhere.

    .venv/bin/python examples/journal_antientropy.py

Each device commits its own facts to its journal (SQLite, in memory here). Then every device runs
anti-entropy rounds (SPEC §8.3) with its peers in turn: each round exchanges Bloom-filter digests of
fact ids over the shipped `anti_entropy.choreo` (checked by the monitor like any protocol) and
ships only the facts the other side lacks. The network drops 20% of frames and duplicates 10%; the
session layer repairs that, and virtual time makes the run instant and reproducible.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from aura_choreo.journal import Journal, JournalStore
from aura_choreo.orchestration.antientropy import AntiEntropy, PeerSelection
from aura_choreo.orchestration.entries import JournalEntries
from aura_choreo.orchestration.exchange import Device
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.network import LinkModel, NetworkModel
from aura_choreo.transports.simulated import SimulatedTransport

DEVICES = ("alice", "bob", "carol")


async def main() -> None:
    journals = {name: Journal(name, JournalStore(":memory:")) for name in DEVICES}
    for count, (name, journal) in enumerate(journals.items(), start=2):
        for n in range(count):
            journal.commit(
                journal.reserve([f"{name}-step-{n}"], protocol="demo", session="s1", role=name, label="Work")
            )
    for name, journal in journals.items():
        print(f"{name:>6} starts with {len(journal)} facts")
    transport = SimulatedTransport(NetworkModel(LinkModel(drop=0.2, duplicate=0.1)), seed=7)
    async with AsyncExitStack() as stack:
        agents = []
        for name in DEVICES:
            device = await stack.enter_async_context(Device(name, transport))
            agents.append(
                AntiEntropy(device, JournalEntries(journals[name]), selection=PeerSelection.round_robin(1))
            )
        for agent in agents:
            agent.add_peers(*agents)
        for round_number in range(1, 6):
            for agent in agents:
                await agent.run_round()
            sizes = {name: len(journal) for name, journal in journals.items()}
            print(f"round {round_number}: facts per device {sizes}")
            if len({journal.log for journal in journals.values()}) == 1:
                break
    total = sum(a.metrics.bytes_sent for a in agents)
    print(
        f"converged: every journal holds the same {len(journals['alice'])} facts; {total} payload bytes sent"
    )
    print(f"frames lost and repaired by the session layer: {transport.stats.lost}")


if __name__ == "__main__":
    run_virtual(main())
