"""A peer's journal delta can take this device's next fact id, and the device's own fact is lost.

`Journal.merge` stores any fact the delta brings, also one whose id names the receiving device itself,
which only that device writes. A peer that plants `(victim, next counter)` makes the victim's next
commit vanish: `commit` returns the fact as committed, but the index and the SQLite file keep the
planted one (also after a restart). The same hole lets a peer plant checkpoints, saga and session
facts (see test_hunt6_forged_checkpoint.py). Found by hunt6. Suspect: `journal/journal.py` `merge`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_choreo.journal import Journal, JournalStore
from aura_choreo.journal.facts import Fact, FactId, FactLog


@pytest.mark.xfail(strict=True, reason="hunt6: a merged fact under this device's next id replaces its commit")
def test_a_committed_fact_survives_a_peer_delta_that_claims_its_id(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with JournalStore(path) as store:
        journal = Journal("victim", store)
        journal.commit(journal.reserve(["first"], protocol="P", session="s", role="R", label="L", data={}))
        journal.merge(FactLog.of([Fact(FactId("victim", 2), "planted")]), from_device="attacker")
        committed = journal.commit(
            journal.reserve(["mine"], protocol="P", session="s", role="R", label="L", data={})
        )
        assert [f.name for f in committed] == ["mine"]
        assert "mine" in [f.name for f in journal.facts()]  # today: [first, planted]
    with JournalStore(path) as store:
        assert "mine" in [f.name for f in Journal("victim", store).facts()]
