"""AntiEntropy (SPEC §8.3): digests, exactly the missing entries, peer selection, journals."""

from __future__ import annotations

import pytest

from aura_choreo.journal import Journal, JournalStore
from aura_choreo.orchestration.antientropy import AntiEntropy, PeerSelection
from aura_choreo.orchestration.bloom import BloomDecodeError
from aura_choreo.orchestration.crdt import ORSet
from aura_choreo.orchestration.entries import CrdtEntries, JournalEntries
from aura_choreo.orchestration.exchange import Device
from aura_choreo.runtime import Endpoint
from aura_choreo.transports import InMemoryTransport


def orset(replica: str, items: range) -> ORSet:
    value = ORSet()
    for i in items:
        value, _ = value.add(replica, i)
    return value


async def test_each_side_sends_only_what_the_other_lacks() -> None:
    transport = InMemoryTransport()
    shared = orset("base", range(1000))
    async with Device("a", transport) as a, Device("b", transport) as b:
        left = CrdtEntries("s", shared.merge(orset("a", range(10))))
        right = CrdtEntries("s", shared.merge(orset("b", range(7))))
        x, y = AntiEntropy(a, left, fp_rate=0.001), AntiEntropy(b, right, fp_rate=0.001)
        await x.reconcile(y)
        # No false negatives, so never more than the difference; a false positive may hold one back.
        assert 9 <= x.metrics.entries_sent <= 10 and 6 <= y.metrics.entries_sent <= 7
        for _ in range(3):
            if left.value == right.value:
                break
            await x.reconcile(y)
        assert left.value == right.value and len(left.value.adds) == 1017


async def test_garbage_digest_is_a_typed_error_at_the_responder() -> None:
    transport = InMemoryTransport()
    async with Device("a", transport) as a, Device("b", transport) as b:
        x, y = AntiEntropy(a, CrdtEntries("s", ORSet())), AntiEntropy(b, CrdtEntries("s", ORSet()))

        async def garbage(ep: Endpoint) -> None:
            await ep.send("Responder", ep.message("Digest", store="s", filter=b"\x00not a filter"))
            await ep.recv("Responder")

        x._initiate = garbage  # type: ignore[method-assign]
        with pytest.raises(BloomDecodeError):
            await x.reconcile(y)
        x.add_peers(y)
        assert await x.run_round() == 0 and "BloomDecodeError" in x.metrics.last_errors[-1]


def _agents(n: int, selection: PeerSelection) -> list[AntiEntropy]:
    transport = InMemoryTransport()
    agents = [
        AntiEntropy(Device(f"d{i}", transport), CrdtEntries("s", ORSet()), selection=selection)
        for i in range(n)
    ]
    for agent in agents:
        agent.add_peers(*agents)
    return agents


def test_peer_selection_strategies() -> None:
    rr = _agents(4, PeerSelection.round_robin(2))[0]
    picks = [[p.device.name for p in rr.choose_peers()] for _ in range(3)]
    assert picks == [["d1", "d2"], ["d3", "d1"], ["d2", "d3"]]
    scores = {"d1": 0.5, "d2": 3.0, "d3": 1.0}
    top = _agents(4, PeerSelection.priority(lambda name: scores[name], k=2))[0]
    assert [p.device.name for p in top.choose_peers()] == ["d2", "d3"]
    rand = _agents(5, PeerSelection.random(3))[0]
    chosen = rand.choose_peers()
    assert len(chosen) == 3 == len({p.device.name for p in chosen}) and rand not in chosen
    with pytest.raises(ValueError):
        PeerSelection.random(0)
    with pytest.raises(ValueError):
        PeerSelection("priority")


async def test_three_journals_converge_without_any_journal_merge_send() -> None:
    transport = InMemoryTransport()
    journals = [Journal(f"dev{i}", JournalStore(":memory:")) for i in range(3)]
    for index, journal in enumerate(journals):
        for n in range(5 + index):
            journal.commit(journal.reserve([f"fact{n}"], protocol="p", session="s", role="r", label="L"))
    async with (
        Device("dev0", transport) as d0,
        Device("dev1", transport) as d1,
        Device("dev2", transport) as d2,
    ):
        agents = [
            AntiEntropy(d, JournalEntries(j), selection=PeerSelection.round_robin(1))
            for d, j in zip((d0, d1, d2), journals, strict=True)
        ]
        for agent in agents:
            agent.add_peers(*agents)
        for _ in range(3):
            for agent in agents:
                await agent.run_round()
            if all(j.log == journals[0].log for j in journals):
                break
    assert all(len(j) == 18 for j in journals)
    assert journals[0].log == journals[1].log == journals[2].log
    # The facts were stored durably by the journals' own merge.
    assert len(journals[2].store.load_facts("dev2")) == 18


def test_the_journal_example_converges() -> None:
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "journal_antientropy.py"
    result = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "converged: every journal holds the same 9 facts" in result.stdout


def test_run_reconciles_every_interval_on_the_loops_clock() -> None:
    import asyncio

    from aura_choreo.testing.virtual_time import run_virtual

    async def scenario() -> tuple[float, int]:
        transport = InMemoryTransport()
        async with Device("a", transport) as a, Device("b", transport) as b:
            x = AntiEntropy(a, CrdtEntries("s", orset("a", range(3))), interval=2.5)
            y = AntiEntropy(b, CrdtEntries("s", ORSet()))
            x.add_peers(y)
            loop = asyncio.get_running_loop()
            started = loop.time()
            await x.run(rounds=3)
            return loop.time() - started, x.metrics.exchanges

    elapsed, exchanges = run_virtual(scenario())
    assert exchanges == 3 and 7.5 <= elapsed < 8.0
