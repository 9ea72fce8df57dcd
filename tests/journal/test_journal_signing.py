"""Author-signed facts (journal.signing): a keyed journal signs its own facts when a delta first carries
them, stores and relays the signatures of others' facts, and merges nothing of a delta holding a fact
its claimed author's pinned key does not sign. Real Ed25519 keys, in one process."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from aura_choreo.errors import ForgedFact
from aura_choreo.journal import Fact, FactAuthors, FactId, FactLog, Journal, JournalStore
from aura_choreo.journal.codec import encode_data
from aura_choreo.journal.facts import with_signature
from aura_choreo.journal.signing import signed_bytes

DEVICES = ("alice", "bob", "carol")
KEYS = {d: Ed25519PrivateKey.from_private_bytes(bytes([i + 1]) * 32) for i, d in enumerate(DEVICES)}
PINNED = {d: k.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) for d, k in KEYS.items()}


def keyed(device: str, store: JournalStore | None = None) -> Journal:
    authors = FactAuthors(device, KEYS[device].sign, {d: k for d, k in PINNED.items() if d != device})
    return Journal(device, store or JournalStore(":memory:"), authors=authors)


def approve(journal: Journal, peer: str, data: dict[str, object] | None = None) -> FactLog:
    """Commit an `approved` fact and return the delta that carries it to `peer` (a journal_merge send)."""
    pending = journal.reserve(["approved"], protocol="p", session="s", role="R", label="Ok", data=data)  # type: ignore[arg-type]
    delta = journal.delta_for(peer, pending)
    journal.commit(pending)
    return delta


def on_the_wire(delta: FactLog) -> FactLog:
    """What the receiver decodes (the attachment is JSON)."""
    return FactLog.from_wire(json.loads(json.dumps(delta.to_wire())))


def test_a_relayed_fact_keeps_its_authors_signature_and_is_accepted() -> None:
    alice, bob, carol = keyed("alice"), keyed("bob"), keyed("carol")
    bob.merge(on_the_wire(approve(alice, "bob")), from_device="alice")
    relayed = on_the_wire(bob.delta_for("carol"))
    assert [f.id for f in carol.merge(relayed, from_device="bob")] == [FactId("alice", 1)]
    (fact,) = carol.facts()
    KEYS["alice"].public_key().verify(fact.signature, signed_bytes(fact))  # alice's signature, not bob's


def test_a_fact_claimed_for_a_third_device_without_its_signature_is_refused() -> None:
    bob, carol = keyed("bob"), keyed("carol")
    forged = Fact(FactId("alice", 1), "approved", "p", "s", "R", "Ok", 1)
    delta = FactLog.of([*approve(bob, "carol"), forged])  # bob's own (signed) fact, and the forgery
    refusal = (
        r"bob's journal delta holds fact #1 \('approved'\) claimed to be written by alice, but it "
        "carries no signature"
    )
    with pytest.raises(ForgedFact, match=refusal):
        carol.merge(on_the_wire(delta), from_device="bob")
    assert len(carol) == 0  # nothing of the delta, not even bob's genuine fact


def test_a_fact_signed_by_the_relaying_device_instead_of_its_author_is_refused() -> None:
    carol = keyed("carol")
    forged = Fact(FactId("alice", 1), "approved", "p", "s", "R", "Ok", 1)
    signed_by_bob = with_signature(forged, KEYS["bob"].sign(signed_bytes(forged)))
    with pytest.raises(ForgedFact, match="does not verify against alice's pinned key"):
        carol.merge(on_the_wire(FactLog.of([signed_by_bob])), from_device="bob")
    assert len(carol) == 0


def test_a_relayed_fact_with_changed_data_is_refused() -> None:
    alice, carol = keyed("alice"), keyed("carol")
    (genuine,) = on_the_wire(approve(alice, "bob", {"ticket": 1}))
    tampered = Fact(genuine.id, genuine.name, genuine.protocol, genuine.session, genuine.role,
                    genuine.label, genuine.lamport, {"ticket": 2}, genuine.signature)  # fmt: skip
    with pytest.raises(ForgedFact, match="does not verify"):
        carol.merge(FactLog.of([tampered]), from_device="bob")
    carol.merge(FactLog.of([genuine]), from_device="bob")  # the genuine one still is accepted
    assert carol.facts()[0].data == {"ticket": 1}


def test_a_fact_of_a_device_with_no_pinned_key_is_refused() -> None:
    carol = keyed("carol")
    stranger = Ed25519PrivateKey.generate()
    fact = Fact(FactId("mallory", 1), "approved", "p", "s", "R", "Ok", 1)
    signed = with_signature(fact, stranger.sign(signed_bytes(fact)))
    with pytest.raises(ForgedFact, match="mallory has no pinned public key"):
        carol.merge(FactLog.of([signed]), from_device="bob")


def test_own_facts_are_signed_once_when_a_delta_first_carries_them() -> None:
    calls: list[bytes] = []

    def sign(data: bytes) -> bytes:
        calls.append(data)
        return KEYS["alice"].sign(data)

    alice = Journal("alice", JournalStore(":memory:"), authors=FactAuthors("alice", sign, {}))
    alice.commit(alice.reserve(["quiet"], protocol="p", session="s", role="R", label="L"))
    assert calls == [] and not alice.facts()[0].signature  # no delta carried it: never signed
    first = alice.delta_for("bob")
    again = alice.delta_for("bob", alice.reserve(["loud"], protocol="p", session="s", role="R", label="L"))
    assert len(calls) == 2  # "quiet" once (kept in the index), "loud" once
    assert first.facts[FactId("alice", 1)].signature == again.facts[FactId("alice", 1)].signature


def test_pending_facts_commit_with_the_signature_their_delta_carried(tmp_path: Path) -> None:
    with JournalStore(tmp_path / "a.db") as store:
        delta = approve(keyed("alice", store), "bob")
    with JournalStore(tmp_path / "a.db") as store:
        (fact,) = store.load_facts("alice")
    assert fact.signature == delta.facts[FactId("alice", 1)].signature != b""


def test_merged_signatures_survive_a_restart_and_are_relayed(tmp_path: Path) -> None:
    path = tmp_path / "bob.db"
    with JournalStore(path) as store:
        keyed("bob", store).merge(on_the_wire(approve(keyed("alice"), "bob")), from_device="alice")
    with JournalStore(path) as store:
        relayed = on_the_wire(keyed("bob", store).delta_for("carol"))
    assert [f.id for f in keyed("carol").merge(relayed, from_device="bob")] == [FactId("alice", 1)]


def test_an_unkeyed_journal_merges_unsigned_facts_of_third_devices_as_before() -> None:
    """Testing and simulation run every device in one process with no pinned key: deltas are trusted
    (apart from facts under the receiver's own id), facts are neither signed nor checked."""
    carol = Journal("carol", JournalStore(":memory:"))
    fact = Fact(FactId("alice", 1), "approved", "p", "s", "R", "Ok", 1)
    assert carol.merge(FactLog.of([fact]), from_device="bob") == (fact,)
    alice = Journal("alice", JournalStore(":memory:"))
    assert not approve(alice, "bob").facts[FactId("alice", 1)].signature


def _old_journal(path: Path) -> None:
    """A journal file as earlier versions wrote it: one fact's data as JSON text, one as a v1 BLOB."""
    with JournalStore(path):
        pass  # the schema (unchanged)
    db = sqlite3.connect(path)
    rows = [
        ("bob", "alice", 1, "approved", "p", "s", "R", "Ok", 1, json.dumps({"ticket": 1})),
        ("bob", "alice", 2, "approved", "p", "s", "R", "Ok", 2, encode_data({"ticket": 2})),
    ]
    with db:
        db.executemany("INSERT INTO facts VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    db.close()


def test_an_old_journal_opens_and_keeps_new_signed_facts_beside_its_unsigned_ones(tmp_path: Path) -> None:
    path = tmp_path / "bob.db"
    _old_journal(path)
    alice = keyed("alice")
    for _ in range(2):  # alice's facts 1 and 2 (bob already holds unsigned copies)
        approve(alice, "bob")
    with JournalStore(path) as store:
        bob = keyed("bob", store)
        assert [(f.data, f.signature) for f in bob.facts()] == [({"ticket": 1}, b""), ({"ticket": 2}, b"")]
        assert bob.merge(on_the_wire(approve(alice, "bob")), from_device="alice")  # fact 3, signed
    with JournalStore(path) as store:
        facts = store.load_facts("bob")
    assert [bool(f.signature) for f in facts] == [False, False, True]
    assert [f.data for f in facts[:2]] == [{"ticket": 1}, {"ticket": 2}]


def test_anti_entropy_between_keyed_journals_sends_signed_facts() -> None:
    """`JournalEntries` sends facts outside any delta: a keyed journal's own facts go signed there too
    (before, the keyed peer refused its unsigned ones), and relayed ones keep their authors' signatures."""
    from aura_choreo.orchestration.bloom import BloomFilter
    from aura_choreo.orchestration.entries import JournalEntries

    alice, bob = keyed("alice"), keyed("bob")
    for name in ("a", "b"):  # committed, never carried by a delta: unsigned so far
        alice.commit(alice.reserve([name], protocol="p", session="s", role="R", label="L"))
    alice.merge(on_the_wire(approve(keyed("carol"), "alice")), from_device="carol")
    sent = JournalEntries(alice).entries_not_in(BloomFilter(16))
    assert JournalEntries(bob).absorb(sent) == 3
    assert {f.id for f in bob.facts()} == {FactId("alice", 1), FactId("alice", 2), FactId("carol", 1)}
    assert all(f.signature for f in alice.facts())  # kept signed: the next exchange signs nothing
