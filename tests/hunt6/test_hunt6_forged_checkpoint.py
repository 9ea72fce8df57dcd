"""A peer can plant a "checkpoint" in another device's journal, and pickle runs it: found by hunt6.

`resilience/checkpoint.py` pickles checkpoints and, because "pickle is not for untrusted bytes", reads
back only facts whose id names this device (`fact.id.device == own`). But a fact's id is whatever the
sender writes: `Journal.merge` (reached from `GuardChain.accept` for a `journal_merge` delta on any
message, and from anti-entropy over journals) stores a peer's fact `(victim, 1000)` like any other, so
`Checkpoints.latest` returns the peer's bytes as the victim's own checkpoint and `restore` unpickles
them: arbitrary code on the victim the next time it recovers a role. Suspects: `journal/journal.py`
(`merge` accepts facts claiming the receiving device itself, which it alone writes) and
`resilience/checkpoint.py` (trusting the id, and `pickle.Unpickler` with no `find_class` limit).
"""

from __future__ import annotations

import base64
import dataclasses
import pickle
from pathlib import Path
from types import SimpleNamespace

from aura_choreo import load
from aura_choreo.errors import AuraChoreoError
from aura_choreo.guards.attachments import Attachments
from aura_choreo.guards.chain import GuardChain, OutgoingSend
from aura_choreo.guards.policy_file import parse_policy
from aura_choreo.journal.facts import Fact, FactId, FactLog
from aura_choreo.resilience.checkpoint import CHECKPOINT, Checkpoints
from aura_choreo.resilience.saga import SagaLog

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"


class _Touch:
    """Unpickling this creates `path` (a stand-in for any code the attacker wants run)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return (Path.touch, (self.path,))


def _victims_chain() -> GuardChain:
    return parse_policy(
        {
            "roles": {"Coordinator": "attacker", "Participant": "victim"},
            "devices": {"attacker": {}, "victim": {}},
        }
    ).build_chain(clock=lambda: 0.0)


def _plant(chain: GuardChain, forged: Fact) -> bool:
    """Send `forged` from the attacker to the victim on a message's journal delta; whether it got in."""
    # The attacker is a device of the session with its own key: its send is signed as usual, and it
    # puts facts of its choosing in the journal delta that rides on the message.
    send = OutgoingSend(
        "TwoPhaseCommit", "s1", "Coordinator", "attacker", "Participant", "victim", "PrepareRequest",
        (("journal_merge", True),),
    )  # fmt: skip
    signed = chain.prepare(send).attachments
    wire = dataclasses.replace(signed, journal_delta=FactLog.of([forged])).to_wire()
    try:
        chain.accept(
            sender_device="attacker",
            receiver_device="victim",
            attachments=Attachments.from_wire(wire),
            channel=send.channel,
        )
    except AuraChoreoError:
        return False  # refused at the boundary
    return True


def test_a_checkpoint_planted_through_a_journal_delta_is_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    chain = _victims_chain()
    forged = Fact(
        FactId("victim", 1000),  # the victim's own device name: only the victim writes such facts
        CHECKPOINT,
        protocol="TwoPhaseCommit",
        session="s1",
        role="Participant",
        data={"state": base64.b64encode(pickle.dumps(_Touch(marker))).decode("ascii"), "step": 99},
    )
    if not _plant(chain, forged):
        return  # fixed at the boundary
    participant = load(str(TPC)).local_types()["Participant"]
    endpoint = SimpleNamespace(session=SimpleNamespace(id="s1"), role="Participant", local_type=participant)
    checkpoints = Checkpoints(chain.device("victim").journal)
    try:
        checkpoints.restore(endpoint)  # type: ignore[arg-type]  # restore reads only these fields first
    except (AuraChoreoError, AttributeError, TypeError, KeyError):
        pass  # what the forged state does after the payload ran does not matter
    assert not marker.exists(), "the peer's pickle ran on the victim"
    assert checkpoints.latest("s1", "Participant") is None


# The same hole, without pickle: `SagaLog` also trusts `fact.id.device == own`, so a planted
# `saga.end` closes the victim's open saga and `recover_sagas` never compensates its completed steps.
def test_a_saga_end_planted_through_a_journal_delta_does_not_close_an_open_saga() -> None:
    chain = _victims_chain()
    log = SagaLog(chain.device("victim").journal)
    log.record("order-1", "begin", definition="order", steps="reserve\x1fcharge")
    log.record("order-1", "start", "reserve", index=0)
    log.record("order-1", "done", "reserve")  # then the victim crashes: the saga is open
    assert log.open_sagas() == ["order-1"]
    forged = Fact(FactId("victim", 1000), "saga.end", protocol="saga", session="order-1", label="end")
    _plant(chain, forged)
    assert log.open_sagas() == ["order-1"]
