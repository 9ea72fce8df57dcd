"""`Journal.append_next`: facts that rode on no message take their ids when committed, and an in-memory
store's consecutive commits of one kind grow one run (issue 19). Whatever reads the run in between
(the journal, its store) or moves the counters (a reservation, a release, a merge), every committed
fact is there once, with its own counter, Lamport time and name, and each budget's furthest charge."""

from __future__ import annotations

from pathlib import Path

from aura_choreo.journal import Fact, FactId, FactLog, Journal, JournalStore
from aura_choreo.journal.facts import new_fact
from aura_choreo.journal.pending import FactTemplate

PING = FactTemplate.of(("pinged",), "p", "Admin", "Ping", {"to": "User", "cost": 1})
PAIR = FactTemplate.of(("a", "b"), "p", "Admin", "Two")


def shape(facts: list[Fact]) -> list[tuple[int, int, str, str]]:
    return [(f.id.counter, f.lamport, f.name, f.session) for f in facts]


def own(journal: Journal) -> list[Fact]:
    return [f for f in journal.facts() if f.id.device == journal.device]


def test_consecutive_commits_are_one_run_read_back_fact_by_fact() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("alice", store)
        for spent in range(1, 4):
            journal.append_next(PING, "s1", ("ctx", "bob", 0, spent))
        expected = [(1, 1, "pinged", "s1"), (2, 2, "pinged", "s1"), (3, 3, "pinged", "s1")]
        assert shape(own(journal)) == expected
        assert shape(store.load_facts("alice")) == expected
        assert all(f.data == {"to": "User", "cost": 1} for f in store.load_facts("alice"))
        assert store.load_budgets("alice") == [("ctx", "bob", 0, 3)]


def test_a_template_of_several_names_repeats_them_in_order() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("alice", store)
        journal.append_next(PAIR, "s1", ("ctx", "bob", 0, 1))
        journal.append_next(PAIR, "s1", ("ctx", "bob", 0, 2))
        assert [(f.id.counter, f.name) for f in store.load_facts("alice")] == [
            (1, "a"), (2, "b"), (3, "a"), (4, "b"),
        ]  # fmt: skip
        assert len(journal) == 4


def test_reading_the_journal_or_the_store_mid_run_loses_nothing_later() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("alice", store)
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 1))
        assert len(own(journal)) == 1  # the journal reads (builds) the run
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 2))
        assert len(store.load_facts("alice")) == 2  # the store writes it out
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 3))
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 4))
        assert [f.id.counter for f in store.load_facts("alice")] == [1, 2, 3, 4]
        assert [f.id.counter for f in own(journal)] == [1, 2, 3, 4]
        assert journal.version_vector().counters == {"alice": 4}
        assert store.load_budgets("alice") == [("ctx", "bob", 0, 4)]


def test_sessions_and_kinds_interleaved_keep_their_own_facts() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("alice", store)
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 1))
        journal.append_next(PING, "s2", ("ctx", "bob", 0, 2))
        journal.append_next(PAIR, "s2", ("ctx", "bob", 0, 3))
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 4))
        assert [(f.id.counter, f.name, f.session) for f in store.load_facts("alice")] == [
            (1, "pinged", "s1"), (2, "pinged", "s2"), (3, "a", "s2"), (4, "b", "s2"), (5, "pinged", "s1"),
        ]  # fmt: skip


def test_a_reservation_between_commits_keeps_every_counter_unique() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("alice", store)
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 1))
        riding = journal.reserve(["riding"], protocol="p", session="s1", role="Admin", label="Merge")
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 2))
        journal.commit(riding)
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 3))
        assert [(f.id.counter, f.name) for f in own(journal)] == [
            (1, "pinged"), (2, "riding"), (3, "pinged"), (4, "pinged"),
        ]  # fmt: skip
        assert [f.id.counter for f in store.load_facts("alice")] == [1, 2, 3, 4]
        lamports = [f.lamport for f in own(journal)]
        assert lamports == sorted(set(lamports))


def test_a_release_behind_the_run_leaves_a_void_counter_not_a_reused_one() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("alice", store)
        refused = journal.reserve(["refused"], protocol="p", session="s1", role="Admin", label="Merge")
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 1))
        journal.release(refused)  # counter 1 is behind the run's 2: never used
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 2))
        assert [f.id.counter for f in own(journal)] == [2, 3]
        assert journal.version_vector().counters == {"alice": 3}


def test_a_release_at_the_end_gives_its_counter_to_the_next_commit() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("alice", store)
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 1))
        refused = journal.reserve(["refused"], protocol="p", session="s1", role="Admin", label="Merge")
        journal.release(refused)
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 2))
        assert [f.id.counter for f in store.load_facts("alice")] == [1, 2]


def test_a_merge_between_commits_moves_the_next_lamport_time_past_it() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("alice", store)
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 1))
        theirs = new_fact("bob", 1, "seen", "p", "s1", "User", "Pong", 50, {})
        journal.merge(FactLog.of([theirs]), from_device="bob")
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 2))
        mine = own(journal)
        assert [f.id.counter for f in mine] == [1, 2]
        assert mine[1].lamport > 50
        assert FactId("bob", 1) in journal


def test_each_budget_keeps_its_furthest_charge_whatever_the_order_of_commits() -> None:
    with JournalStore(":memory:") as store:
        journal = Journal("alice", store)
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 2))
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 1))  # prepared earlier, committed later
        journal.append_next(PING, "s1", ("ctx", "carol", 0, 5))
        journal.append_next(PING, "s1", ("ctx", "bob", 1, 1))  # a new epoch
        journal.append_next(PING, "s1", ("ctx", "carol", 0, 4))
        assert store.load_budgets("alice") == [("ctx", "bob", 1, 1), ("ctx", "carol", 0, 5)]
        assert len(store.load_facts("alice")) == 5


def test_a_file_store_writes_each_commit_at_once(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with JournalStore(path) as store:
        journal = Journal("alice", store)
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 1))
        journal.append_next(PING, "s1", ("ctx", "bob", 0, 2))
        with JournalStore(path) as reader:  # another connection sees both, without any read here first
            assert [f.id.counter for f in reader.load_facts("alice")] == [1, 2]
            assert reader.load_budgets("alice") == [("ctx", "bob", 0, 2)]
    with JournalStore(path) as store:
        reopened = Journal("alice", store)
        reopened.append_next(PING, "s2", ("ctx", "bob", 0, 3))
        assert [(f.id.counter, f.session) for f in reopened.facts()] == [(1, "s1"), (2, "s1"), (3, "s2")]
