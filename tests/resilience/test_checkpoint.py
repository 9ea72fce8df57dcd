"""Checkpoints: a role's position and known values, journaled in SQLite at each step, read back by a
new process (a new journal on the same file) into a fresh endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aura_choreo import load
from aura_choreo.journal import Journal, JournalStore
from aura_choreo.resilience.checkpoint import CHECKPOINT, CheckpointError, Checkpoints
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.runner import run_session
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.inmemory import InMemoryTransport

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"


def test_a_checkpoint_read_back_from_the_file_puts_a_fresh_endpoint_where_it_was(tmp_path: Path) -> None:
    protocol = load(str(TPC))
    path = tmp_path / "journal.db"
    seen: dict[str, Any] = {}

    async def participant(ep: Endpoint) -> None:
        store = JournalStore(path)
        checkpoints = Checkpoints(Journal("participant-device", store))
        checkpoints.attach(ep)
        request = await ep.recv("Coordinator")
        await ep.send("Coordinator", ep.message("PrepareResponse", vote="Commit"))
        # "another process": a new store on the same file, a new endpoint object for the same role
        again = Checkpoints(Journal("participant-device", JournalStore(path)))
        fresh = Endpoint(ep.session, ep.role, ep.node)
        assert fresh.monitor.step_count == 0
        assert again.restore(fresh)
        seen.update(
            expected=(fresh.monitor.expected(), ep.monitor.expected()),
            steps=(fresh.monitor.step_count, ep.monitor.step_count),
            env=(fresh.env, dict(ep.env)),
            seq=(dict(fresh._seq), dict(ep._seq)),
            request=request,
            written=checkpoints.written,
        )
        again.journal.store.close()
        await ep.recv("Coordinator")
        await ep.send("Coordinator", ep.message("CommitAck"))
        store.close()

    async def coordinator(ep: Endpoint) -> None:
        await ep.send("Participant", ep.message("PrepareRequest", transaction_id=7))
        await ep.recv("Participant")
        await ep.send("Participant", ep.message("CommitRequest", transaction_id=7))
        await ep.recv("Participant")

    async def scenario() -> None:
        roles = {"Coordinator": coordinator, "Participant": participant}
        await run_session(protocol.session(), InMemoryTransport(), roles)

    run_virtual(scenario())
    fresh_expected, live_expected = seen["expected"]
    assert fresh_expected == live_expected == "receive CommitRequest from Coordinator"
    assert seen["steps"] == (2, 2)
    fresh_env, live_env = seen["env"]
    assert fresh_env == live_env and fresh_env.get("vote") is not None
    assert seen["seq"] == ({"Coordinator": 1}, {"Coordinator": 1})
    assert seen["written"] == 3  # at attach, after the receive, after the send


def test_a_restore_without_a_checkpoint_changes_nothing_and_a_damaged_one_is_a_typed_error() -> None:
    protocol = load(str(TPC))

    async def participant(ep: Endpoint) -> None:
        journal = Journal("d", JournalStore(":memory:"))
        checkpoints = Checkpoints(journal)
        assert not checkpoints.restore(ep)
        pending = journal.reserve(
            [CHECKPOINT], protocol=ep.session.protocol, session=ep.session.id, role=ep.role, label="",
            data={"state": "bm90IGEgcGlja2xl"},
        )  # fmt: skip
        journal.commit(pending)
        with pytest.raises(CheckpointError, match="role Participant"):
            checkpoints.restore(ep)
        assert ep.monitor.step_count == 0
        await ep.recv("Coordinator")
        await ep.send("Coordinator", ep.message("PrepareResponse", vote="Abort"))
        await ep.recv("Coordinator")
        await ep.send("Coordinator", ep.message("AbortAck"))

    async def scenario() -> None:
        await run_session(protocol.session(), InMemoryTransport(), {"Participant": participant})

    run_virtual(scenario())
