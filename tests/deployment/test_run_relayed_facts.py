"""Relayed journal facts across processes (SPEC §5.4, §5.6): author-signed, checked by the receiver.

Approver's `approved` fact reaches Holder on a `journal_merge` step; Holder relays it to Guardian on the
next one. Guardian accepts it only when Approver's signature (by its pinned key) covers it: a fact
Holder merely claims Approver wrote (planted in Holder's journal), or Approver's fact with its data
changed, is refused with `ForgedFact` and nothing of the delta reaches Guardian's journal.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from deploy_cluster import Cluster, RunResult, assert_all_ok, device_of, make_cluster

from aura_choreo.journal import Fact, FactId, JournalStore
from aura_choreo.journal.codec import decode_signed, encode_data

ROLES = ("Approver", "Holder", "Guardian")

RELAY = """
choreography Relay {
    roles: Approver, Holder, Guardian;

    Approver[journal_facts = "approved", journal_merge = true] -> Holder: Approve(ticket: i64);
    Holder[journal_merge = true] -> Guardian: Forward(ticket: i64);
}
"""

APPROVAL = """
choreography Approval {
    roles: Approver, Holder;

    Approver[journal_facts = "approved", journal_merge = true] -> Holder: Approve(ticket: i64);
}
"""

FORWARD = """
choreography Forward {
    roles: Holder, Guardian;

    Holder[journal_merge = true] -> Guardian: Forward(ticket: i64);
}
"""

SHORT = ["--connect-timeout", "15", "--timeout", "15"]


def cluster(folder: Path) -> Cluster:
    header = [f'journal = "{folder}/{{device}}.db"', 'synchronous = "NORMAL"', "signing = true"]
    return make_cluster(folder, ROLES, header=header)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.choreo"
    path.write_text(text, encoding="utf-8")
    return path


def journal_of(folder: Path, role: str) -> list[Fact]:
    store = JournalStore(str(folder / f"{device_of(role)}.db"))
    try:
        return store.load_facts(device_of(role))
    finally:
        store.close()


def approvals(facts: list[Fact]) -> list[Fact]:
    return [f for f in facts if f.id.device == device_of("Approver") and f.name == "approved"]


def forward(folder: Path, deployment: Cluster) -> dict[str, RunResult]:
    """Holder (a fresh process on its journal) forwards to Guardian: its delta relays what it holds."""
    only = ("Holder", "Guardian")
    return deployment.run(write(folder, "forward", FORWARD), only=only, extra=dict.fromkeys(only, SHORT))


def approve(folder: Path, deployment: Cluster) -> None:
    only = ("Approver", "Holder")
    assert_all_ok(deployment.run(write(folder, "approval", APPROVAL), only=only))


def assert_refused(result: RunResult, author: str) -> None:
    assert result.code == 1, (result.stderr, result.document)
    error = result.document["error"]
    assert isinstance(error, dict), result.document
    assert error["error"] == "ForgedFact", error
    assert author in error["message"] and "Guardian" in error["message"] and "session" in error["message"]
    assert "Traceback" not in result.stderr


def test_a_fact_relayed_within_one_session_is_accepted_with_its_authors_signature(tmp_path: Path) -> None:
    deployment = cluster(tmp_path)
    assert_all_ok(deployment.run(write(tmp_path, "relay", RELAY)))
    relayed = approvals(journal_of(tmp_path, "Guardian"))
    assert len(relayed) == 1 and len(relayed[0].signature) == 64
    assert approvals(journal_of(tmp_path, "Holder")) == relayed


def test_a_restarted_device_relays_the_signed_facts_it_stored(tmp_path: Path) -> None:
    deployment = cluster(tmp_path)
    approve(tmp_path, deployment)
    stored = approvals(journal_of(tmp_path, "Holder"))
    assert len(stored) == 1 and stored[0].signature  # the signature survived the process
    assert_all_ok(forward(tmp_path, deployment))
    assert approvals(journal_of(tmp_path, "Guardian")) == stored


def test_a_fact_claimed_for_a_third_device_is_refused(tmp_path: Path) -> None:
    deployment = cluster(tmp_path)
    approver, holder = device_of("Approver"), device_of("Holder")
    store = JournalStore(str(tmp_path / f"{holder}.db"))  # Holder's journal holds a planted approval
    forged = Fact(FactId(approver, 1), "approved", "Approval", "any", "Approver", "Approve", 1)
    store.append_facts(holder, [forged])
    store.close()
    results = forward(tmp_path, deployment)
    assert_refused(results["Guardian"], approver)
    assert approvals(journal_of(tmp_path, "Guardian")) == []


def test_a_fact_forged_with_a_signature_of_another_key_is_refused(tmp_path: Path) -> None:
    deployment = cluster(tmp_path)
    approver, holder = device_of("Approver"), device_of("Holder")
    store = JournalStore(str(tmp_path / f"{holder}.db"))  # signed, but with random bytes
    forged = Fact(
        FactId(approver, 1), "approved", "Approval", "any", "Approver", "Approve", 1, {}, os.urandom(64)
    )
    store.append_facts(holder, [forged])
    store.close()
    results = forward(tmp_path, deployment)
    assert_refused(results["Guardian"], approver)
    assert approvals(journal_of(tmp_path, "Guardian")) == []


def test_a_relayed_fact_with_changed_data_is_refused(tmp_path: Path) -> None:
    deployment = cluster(tmp_path)
    approve(tmp_path, deployment)
    where = (device_of("Holder"), device_of("Approver"))
    db = sqlite3.connect(tmp_path / f"{where[0]}.db")  # the data changed, the signature kept
    try:
        query = "SELECT data FROM facts WHERE owner = ? AND device = ?"
        data, signature = decode_signed(db.execute(query, where).fetchone()[0])
        assert signature
        tampered = encode_data({**data, "ticket": 7}, signature)
        with db:
            db.execute("UPDATE facts SET data = ? WHERE owner = ? AND device = ?", (tampered, *where))
    finally:
        db.close()
    results = forward(tmp_path, deployment)
    assert_refused(results["Guardian"], device_of("Approver"))
    assert approvals(journal_of(tmp_path, "Guardian")) == []
