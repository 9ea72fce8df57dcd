"""A journal delta is merged only from a message whose step merges journals (`journal_merge`): the
sender's own chain puts one nowhere else, so one elsewhere is a peer injecting facts (hunt6: the
Owner's RecoveryRequest carried an "approval" the custodian's guard then trusted)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from aura_choreo.errors import ForgedFact
from aura_choreo.guards import build_guard_extension, parse_policy
from aura_choreo.guards.chain import OutgoingSend
from aura_choreo.journal.facts import Fact, FactId, FactLog
from aura_choreo.protocol import load_all
from aura_choreo.runtime.extensions import SessionContext, StepContext

RECOVERY = Path(__file__).resolve().parents[2] / "examples" / "two_phase_recovery.choreo"


def _delivery(label: str, *, annotated: bool) -> tuple[object, StepContext, dict[str, bytes]]:
    """The Custodian's extension, joined to a session of Approval, and a message `label` from the
    Approver with a journal delta (its step context with or without the step's annotations, as a
    late or discarded message arrives without them)."""
    approval = load_all(RECOVERY)["examples.Approval"]
    custodian_type = approval.local_types()["Custodian"]
    extension = build_guard_extension(parse_policy({}))
    name = approval.qualified_name
    extension.on_session_start(SessionContext(name, "s1", "Custodian", "custodian", custodian_type))
    merge = (("journal_facts", "recovery_approved"), ("journal_merge", True))
    send = OutgoingSend(
        name, "s1", "Approver", "approver", "Custodian", "custodian", label, merge,
        extension.context_of(name, "s1"),
    )  # fmt: skip
    prepared = extension.chain.prepare(send)
    extension.chain.commit(prepared)
    fact = Fact(FactId("approver", 1), "recovery_approved", protocol=name, role="Approver")
    wire = dataclasses.replace(prepared.attachments, journal_delta=FactLog.of([fact])).to_wire()
    annotations = merge if annotated else ()
    ctx = StepContext(
        name, "s1", "Custodian", "custodian", "Approver", label, annotations, None, "recv", 2, "approver"
    )
    return extension, ctx, wire


def test_a_delta_on_the_journal_merge_step_is_merged_even_without_its_annotations() -> None:
    extension, ctx, wire = _delivery("Approved", annotated=False)
    extension.on_receive(ctx, wire)  # type: ignore[attr-defined]
    facts = extension.chain.device("custodian").journal.facts()  # type: ignore[attr-defined]
    assert [f.name for f in facts] == ["recovery_approved"]


def test_a_delta_on_a_step_that_merges_none_is_refused_and_nothing_is_merged() -> None:
    extension, ctx, wire = _delivery("ApprovalRequest", annotated=True)
    with pytest.raises(ForgedFact, match="carries a journal delta, but its step merges none") as refused:
        extension.on_receive(ctx, wire)  # type: ignore[attr-defined]
    assert refused.value.role == "Custodian"
    assert list(extension.chain.device("custodian").journal.facts()) == []  # type: ignore[attr-defined]
