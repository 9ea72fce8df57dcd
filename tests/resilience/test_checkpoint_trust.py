"""A checkpoint is read back only if this device wrote it, and only as data (hunt6: a peer could plant
a pickle through a journal delta, and restoring it ran the peer's code)."""

from __future__ import annotations

import base64
import pickle
from pathlib import Path
from types import SimpleNamespace

import pytest

from aura_choreo import load
from aura_choreo.errors import ForgedFact
from aura_choreo.journal import MEMORY, Journal, JournalStore
from aura_choreo.journal.facts import Fact, FactId, FactLog
from aura_choreo.resilience.checkpoint import CHECKPOINT, CheckpointError, Checkpoints

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"


class _Touch:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return (Path.touch, (self.path,))


def _fact(device: str, counter: int, name: str = "note") -> Fact:
    return Fact(FactId(device, counter), name, protocol="P", session="s", role="R")


def test_a_delta_claiming_facts_of_the_receiving_device_is_refused_and_nothing_is_stored() -> None:
    journal = Journal("victim", JournalStore(MEMORY))
    delta = FactLog.of([_fact("peer", 1), _fact("victim", 7)])
    with pytest.raises(ForgedFact, match=r"peer's journal delta claims facts of this device \(victim\)"):
        journal.merge(delta, from_device="peer")
    assert list(journal.facts()) == []


def test_a_peer_may_echo_back_facts_this_device_wrote() -> None:
    journal = Journal("victim", JournalStore(MEMORY))
    pending = journal.reserve(["mine"], protocol="P", session="s", role="R", label="")
    journal.commit(pending)
    (ours,) = journal.facts()
    new = journal.merge(FactLog.of([ours, _fact("peer", 1)]), from_device="peer")
    assert [f.id for f in new] == [FactId("peer", 1)]


def test_a_checkpoint_that_names_a_function_is_refused_without_running_it(tmp_path: Path) -> None:
    # Even a checkpoint in the device's own journal (a file someone else could write) is read as data.
    marker = tmp_path / "ran"
    journal = Journal("device", JournalStore(MEMORY))
    state = base64.b64encode(pickle.dumps(_Touch(marker))).decode("ascii")
    pending = journal.reserve(
        [CHECKPOINT], protocol="TwoPhaseCommit", session="s1", role="Participant", label="",
        data={"state": state, "step": 1},
    )  # fmt: skip
    journal.commit(pending)
    participant = load(str(TPC)).local_types()["Participant"]
    endpoint = SimpleNamespace(session=SimpleNamespace(id="s1"), role="Participant", local_type=participant)
    with pytest.raises(CheckpointError, match=r"holds data only, not pathlib\.Path\.touch"):
        Checkpoints(journal).restore(endpoint)  # type: ignore[arg-type]
    assert not marker.exists()
