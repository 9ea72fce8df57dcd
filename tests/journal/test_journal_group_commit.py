"""Group commit: concurrent sends share a transaction; a batch commits or fails as a whole."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from aura_choreo.guards import parse_policy
from aura_choreo.guards.chain import Attachments, OutgoingSend
from aura_choreo.guards.flow import FlowLedger
from aura_choreo.journal import Fact, FactId, Journal, JournalStore
from aura_choreo.journal.group import GroupCommit, TraceChunk, WriteBatch


def fact(counter: int, name: str = "f") -> Fact:
    return Fact(FactId("alice", counter), name)


async def test_sends_waiting_together_share_one_transaction(tmp_path: Path) -> None:
    with JournalStore(tmp_path / "j.db") as store:
        waits = [store.group.submit("alice", [fact(n)], [("ctx", "bob", 0, n)]) for n in range(1, 17)]
        await asyncio.gather(*waits)
        assert store.group.items == 16
        assert store.group.batches < 16  # the first batch was on its way while the others queued
        assert [f.id.counter for f in store.load_facts("alice")] == list(range(1, 17))
        assert store.load_budgets("alice") == [("ctx", "bob", 0, 16)]  # the largest charge wins


async def test_a_failed_batch_fails_every_send_in_it_and_stores_nothing() -> None:
    written: list[WriteBatch] = []

    def write(batch: WriteBatch, traces: Sequence[TraceChunk] = ()) -> int:
        if any(facts and facts[0].name == "poison" for _, facts, _ in batch):
            raise OSError("disk full")
        written.append(batch)
        return len(batch)

    group = GroupCommit(write)
    durable: list[int] = []
    first = group.submit("alice", [fact(1)], on_durable=lambda: durable.append(1))
    # Queued while the first batch is being written: the next batch, written together.
    second = group.submit("alice", [fact(2, "poison")], on_durable=lambda: durable.append(2))
    third = group.submit("alice", [fact(3)], on_durable=lambda: durable.append(3))
    results = await asyncio.gather(first, second, third, return_exceptions=True)
    group.close()
    assert results[0] is None
    assert isinstance(results[1], OSError) and isinstance(results[2], OSError)
    assert durable == [1]
    assert [item[1][0].id.counter for batch in written for item in batch] == [1]


async def test_a_cancelled_waiter_still_gets_its_write_and_its_durable_callback() -> None:
    gate = threading.Event()
    written: list[WriteBatch] = []

    def write(batch: WriteBatch, traces: Sequence[TraceChunk] = ()) -> int:
        gate.wait(10)
        written.append(batch)
        return len(batch)

    group = GroupCommit(write)
    durable: list[int] = []
    future = group.submit("alice", [fact(1)], on_durable=lambda: durable.append(1))

    async def waiter() -> None:
        await future

    task = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    task.cancel()  # the send's task goes away while its batch is being written
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.set()
    for _ in range(1000):
        if group.batches:
            break
        await asyncio.sleep(0.01)
    group.close()
    assert len(written) == 1 and durable == [1]


async def test_guarded_sends_of_concurrent_sessions_all_commit_with_their_charges(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    policy = parse_policy({"journal": str(path), "devices": {"alice": {"capabilities": ["w"]}}})
    chain = policy.build_chain()

    async def session(index: int) -> None:
        annotations = (("guard_capability", "w"), ("flow_cost", 2), ("journal_facts", f"fact{index}"))
        send = OutgoingSend("p.P", f"s{index}", "A", "alice", "B", "bob", "M", annotations)

        async def transmit(_: Attachments) -> None:
            await asyncio.sleep(0)

        for _ in range(5):
            await chain.send_guarded(send, transmit)

    await asyncio.gather(*(session(i) for i in range(16)))
    assert chain.store is not None
    assert chain.store.group.batches < 80
    assert len(chain.device("alice").journal) == 80  # every acknowledged fact is in the replica
    chain.store.close()
    with JournalStore(path) as store:
        assert len(store.load_facts("alice")) == 80
        ((context, peer, epoch, spent),) = store.load_budgets("alice")
        assert (context, peer, epoch, spent) == ("p.P", "bob", 0, 160)
        resumed = FlowLedger(default_limit=1000)
        resumed.restore(context, peer, epoch, spent)  # a restarted device takes its spending back
        assert resumed.budget("p.P", "bob").remaining == 840


def test_an_in_memory_store_writes_behind_and_every_read_sees_the_writes() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("alice", store)
        for n in range(300):  # more than one write-behind batch, and a partial one
            journal.commit(journal.reserve([f"f{n}"], protocol="p", session="s", role="A", label="L"),
                           [("p", "bob", 0, n + 1)])  # fmt: skip
        assert len(store.load_facts("alice")) == 300
        assert store.owners() == ["alice"]
        assert store.load_budgets("alice") == [("p", "bob", 0, 300)]
        assert [f.name for f in Journal("alice", store).facts()][-1] == "f299"
