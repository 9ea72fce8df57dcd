"""A journal fact forged by the requester satisfies another session's journal guard: found by hunt6.

`examples/two_phase_recovery.choreo`: the custodian restores the owner's secret only if its journal
holds `recovery_approved`, a fact the Approver commits and carries over with `journal_merge` in an
earlier session (SPEC §5.8: "a later session's guard can depend on an earlier phase"). But the
receiving guard chain merges a journal delta from any message that carries one: the Owner's own
`RecoveryRequest` (no `journal_merge` annotation) can carry a fact named `recovery_approved` that
claims the Approver as its author, properly receipted by the Owner's key, and the custodian's guard
then takes the `Restore` branch. Suspects: `guards/extension.py` `on_receive` / `guards/chain.py`
`accept` (the delta is merged whatever the step's annotations say, and whoever the facts claim to be
from: facts carry no signature of their author).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from aura_choreo.errors import AuraChoreoError
from aura_choreo.guards import parse_policy
from aura_choreo.guards.chain import OutgoingSend
from aura_choreo.guards.extension import build_guard_extension
from aura_choreo.journal.facts import Fact, FactId, FactLog
from aura_choreo.protocol import load_all
from aura_choreo.runtime.extensions import StepContext
from aura_choreo.testing.pytest_plugin import ChoreoSim

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def custodian_answers(recovery: object, journal: Path) -> list[str]:
    report = ChoreoSim(EXAMPLES).run(recovery, policy=parse_policy({"journal": str(journal)}))  # type: ignore[arg-type]
    return [
        e.label for r in report.runs for e in r.trace.events if e.kind == "send" and e.sender == "Custodian"
    ]


def test_a_request_cannot_carry_the_approval_that_authorises_it(tmp_path: Path) -> None:
    recovery = load_all(EXAMPLES / "two_phase_recovery.choreo")["examples.Recovery"]
    journal = tmp_path / "journal.db"
    assert custodian_answers(recovery, journal) == ["Refuse"]  # no approval session ran

    extension = build_guard_extension(parse_policy({"journal": str(journal)}))
    owner, custodian = extension.device_of("Owner", ""), extension.device_of("Custodian", "")
    name = recovery.qualified_name
    # The Owner's RecoveryRequest, receipted by the Owner's own key as usual ...
    request = OutgoingSend(
        name,
        "s1",
        "Owner",
        owner,
        "Custodian",
        custodian,
        "RecoveryRequest",
        (),
        extension.context_of(name, "s1"),
    )
    signed = extension.chain.prepare(request).attachments
    # ... with a journal delta the Owner made up: an approval "by" the Approver.
    forged = Fact(FactId("Approver", 1), "recovery_approved", protocol="examples.Approval", role="Approver")
    wire = dataclasses.replace(signed, journal_delta=FactLog.of([forged])).to_wire()
    step = StepContext(
        name, "s1", "Custodian", custodian, "Owner", "RecoveryRequest", (), None, "recv", 1, owner
    )
    try:
        extension.on_receive(step, wire)
    except AuraChoreoError:
        pass  # refused: fine, as long as nothing was merged
    merged = [f.name for f in extension.chain.device(custodian).journal.facts()]
    assert extension.chain.store is not None
    extension.chain.store.close()
    assert "recovery_approved" not in merged
    assert custodian_answers(recovery, journal) == ["Refuse"]  # today: ["Restore"]
