"""A peer's journal delta can take this device's next fact id, and the device's own fact is lost.

`Journal.merge` stores any fact the delta brings, also one whose id names the receiving device itself,
which only that device writes. A peer that plants `(victim, next counter)` makes the victim's next
commit vanish: `commit` returns the fact as committed, but the index and the SQLite file keep the
planted one (also after a restart). The same hole lets a peer plant checkpoints, saga and session
facts (see test_hunt6_forged_checkpoint.py). Found by hunt6 on the victim's own next commit; fixed on
main (4ec778f, `Journal.merge` refuses such a delta with `ForgedFact`) before this test landed, so it
is a regression test: either refusal or a commit that skips the planted id keeps the device's fact.
"""

from __future__ import annotations

from pathlib import Path

from aura_choreo.errors import AuraChoreoError
from aura_choreo.journal import Journal, JournalStore
from aura_choreo.journal.facts import Fact, FactId, FactLog


def test_a_committed_fact_survives_a_peer_delta_that_claims_its_id(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with JournalStore(path) as store:
        journal = Journal("victim", store)
        journal.commit(journal.reserve(["first"], protocol="P", session="s", role="R", label="L", data={}))
        try:
            journal.merge(FactLog.of([Fact(FactId("victim", 2), "planted")]), from_device="attacker")
        except AuraChoreoError:
            pass  # refused (ForgedFact): fine, as long as the next commit is kept
        committed = journal.commit(
            journal.reserve(["mine"], protocol="P", session="s", role="R", label="L", data={})
        )
        assert [f.name for f in committed] == ["mine"]
        assert "mine" in [f.name for f in journal.facts()]  # today: [first, planted]
    with JournalStore(path) as store:
        assert "mine" in [f.name for f in Journal("victim", store).facts()]
