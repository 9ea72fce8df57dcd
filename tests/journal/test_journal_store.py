"""The SQLite store and the device journal: WAL, durability settings, reservations, merges, traces."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from aura_choreo.journal import Fact, FactId, FactLog, Journal, JournalStore, VersionVector


def test_file_store_runs_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "journal.db"
    with JournalStore(path) as store:
        assert store.settings() == {"journal_mode": "WAL", "synchronous": "FULL"}
    with JournalStore(path, synchronous="NORMAL") as store:
        assert store.settings() == {"journal_mode": "WAL", "synchronous": "NORMAL"}
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_synchronous_setting_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        JournalStore(tmp_path / "j.db", synchronous="OFF")  # type: ignore[arg-type]


def test_facts_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with JournalStore(path) as store:
        journal = Journal("alice", store)
        journal.commit(journal.reserve(["a", "b"], protocol="p", session="s", role="R", label="L"))
    with JournalStore(path) as store:
        reopened = Journal("alice", store)
        assert [(f.id.counter, f.name) for f in reopened.facts()] == [(1, "a"), (2, "b")]
        nxt = reopened.reserve(["c"], protocol="p", session="s", role="R", label="L")
        assert nxt.facts[0].id == FactId("alice", 3)
        assert nxt.facts[0].lamport > max(f.lamport for f in reopened.facts())


def test_journals_of_several_devices_share_one_store() -> None:
    with JournalStore(":memory:") as store:
        alice, bob = Journal("alice", store), Journal("bob", store)
        alice.commit(alice.reserve(["a"], protocol="p", session="s", role="A", label="L"))
        bob.commit(bob.reserve(["b"], protocol="p", session="s", role="B", label="L"))
        assert store.owners() == ["alice", "bob"]
        assert [f.name for f in store.load_facts("alice")] == ["a"]


def test_reserved_facts_are_not_stored_until_committed() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("alice", store)
        pending = journal.reserve(["a"], protocol="p", session="s", role="A", label="L")
        assert store.load_facts("alice") == []
        journal.release(pending)
        again = journal.reserve(["b"], protocol="p", session="s", role="A", label="L")
        assert again.facts[0].id.counter == 1


def test_release_after_a_later_reservation_leaves_a_gap_not_a_reuse() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("alice", store)
        first = journal.reserve(["a"], protocol="p", session="s", role="A", label="L")
        second = journal.reserve(["b"], protocol="p", session="s", role="A", label="L")
        journal.release(first)
        journal.commit(second)
        third = journal.reserve(["c"], protocol="p", session="s", role="A", label="L")
        assert third.facts[0].id.counter == 3


def test_a_counter_released_behind_a_later_one_does_not_hold_the_version_vector_back(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with JournalStore(path) as store:
        journal = Journal("alice", store)
        first = journal.reserve(["a"], protocol="p", session="s", role="A", label="L")
        journal.commit(journal.reserve(["b"], protocol="p", session="s", role="A", label="L"))
        assert journal.version_vector()["alice"] == 0  # counter 1 may still be committed (a retry)
        journal.release(first)
        assert journal.version_vector()["alice"] == 2
    with JournalStore(path) as store:  # reopened: the missing counter is void for good
        assert Journal("alice", store).version_vector()["alice"] == 2


def test_a_merge_passes_a_gap_the_sender_says_it_holds_no_fact_in() -> None:
    with JournalStore(":memory:") as store:
        bob = Journal("bob", store)
        delta = FactLog.of([Fact(FactId("alice", 2), "b"), Fact(FactId("carol", 5), "c")])
        bob.merge(delta, from_device="alice")
        assert bob.version_vector().counters == {"alice": 0, "carol": 0}
        bob.merge(delta, sender_known=VersionVector({"alice": 3, "carol": 1, "bob": 9}))
        # Up to the highest fact held (alice 2), never past what the sender vouches for (carol 1), and
        # never for bob's own counters (only bob knows which of those are void).
        assert bob.version_vector().counters == {"alice": 2, "carol": 1}


def test_merge_stores_new_facts_and_advances_lamport() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("bob", store)
        delta = FactLog.of([Fact(FactId("alice", 1), "x", lamport=41)])
        assert [f.name for f in journal.merge(delta)] == ["x"]
        assert journal.merge(delta) == ()
        assert [f.name for f in store.load_facts("bob")] == ["x"]
        assert journal.reserve(["y"], protocol="p", session="s", role="B", label="L").facts[0].lamport == 42


def test_delta_for_a_peer_shrinks_as_it_learns() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("alice", store)
        journal.commit(journal.reserve(["a", "b"], protocol="p", session="s", role="A", label="L"))
        delta = journal.delta_for("bob")
        assert len(delta) == 2
        journal.note_delivered("bob", delta)
        assert len(journal.delta_for("bob")) == 0
        assert len(journal.delta_for("carol")) == 2


@dataclass(frozen=True)
class Event:
    kind: str
    label: str


class JsonEvent:
    def to_json(self) -> dict[str, object]:
        return {"kind": "custom"}


def test_session_traces_are_stored_alongside() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("alice", store)
        journal.record_trace("s1", "p.P", [Event("send", "M"), {"kind": "recv"}, JsonEvent()])
        journal.record_trace("s2", "p.P", [Event("send", "N")])
        assert store.trace_events("s1") == [
            {"kind": "send", "label": "M"},
            {"kind": "recv"},
            {"kind": "custom"},
        ]
        assert store.sessions() == ["s1", "s2"]


@pytest.mark.parametrize("memory", [True, False])
def test_trace_rows_kept_behind_read_back_in_order(memory: bool, tmp_path: Path) -> None:
    # An in-memory store keeps trace rows until its traces are read; a read, or events appended after
    # them, must still see every chunk in the order it was added.
    store = JournalStore(":memory:" if memory else tmp_path / "j.db")
    first = ("send", "s1", "A", "A", "B", "Ping", 1, 0.5, "P")
    second = ("recv", "s1", "B", "A", "B", "Ping", 1, 0.75, "P")
    store.append_trace_rows("s1", "P", [first])
    store.append_trace_events("s1", "P", [{"kind": "note"}])
    store.append_trace_rows("s1", "P", [second])
    store.append_trace_rows("s2", "P", [])
    assert store.sessions() == ["s1"]
    events = store.trace_events("s1")
    assert [e["kind"] for e in events] == ["send", "note", "recv"]
    assert events[2]["time"] == 0.75 and events[2]["from"] == "A"


async def test_trace_chunks_queued_for_the_group_commit_read_back_in_order(tmp_path: Path) -> None:
    # A file store streams a running session's trace through its group-commit batches (off the loop);
    # a read, or events written at once, must still find every chunk in the order it was given.
    with JournalStore(tmp_path / "j.db") as store:
        rows = [("send", "s1", "A", "A", "B", "Ping", n, 0.5, "P") for n in range(1, 5)]
        store.append_trace_rows("s1", "P", rows[:1], grouped=True)
        store.append_trace_rows("s1", "P", rows[1:2], grouped=True)
        store.append_trace_events("s1", "P", [{"kind": "note"}])
        store.append_trace_rows("s1", "P", rows[2:], grouped=True)
        assert [e.get("seq", "note") for e in store.trace_events("s1")] == [1, 2, "note", 3, 4]
        store.append_trace_rows("s2", "P", rows[:1], grouped=True)
        await asyncio.sleep(0)
    with JournalStore(tmp_path / "j.db") as reader:  # closing wrote what was still queued
        assert reader.sessions() == ["s1", "s2"]
