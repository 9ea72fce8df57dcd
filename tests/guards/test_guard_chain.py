"""The guard chain: stage order, two-phase commit around the transport, receive side, metrics."""

from __future__ import annotations

import pytest

from aura_choreo.errors import (
    BudgetExhausted,
    CapabilityDenied,
    LeakageExceeded,
    ReceiptError,
    TransportError,
)
from aura_choreo.guards import GuardChain, GuardProfile, LeakageVector
from aura_choreo.guards.capabilities import CapabilityPolicy, DeviceCapabilities
from aura_choreo.guards.chain import Attachments, DeviceGuards, OutgoingSend
from aura_choreo.guards.flow import FlowLedger
from aura_choreo.guards.leakage import LayeredLeakage, LeakageLayer, LeakageLedger
from aura_choreo.projection.local_types import AnnotationMap

CLOCK_NOW = 500.0


def make_chain(
    *,
    caps: set[str] | None = None,
    flow_limit: int = 1024,
    leakage: LeakageVector | None = None,
    signing: bool = True,
) -> GuardChain:
    held = DeviceCapabilities({"alice": caps if caps is not None else {"send"}, "bob": {"send"}})

    def new_device(name: str) -> DeviceGuards:
        ledger = LeakageLedger(limits=leakage or LeakageVector(1000, 500, 100), clock=lambda: CLOCK_NOW)
        return DeviceGuards(
            name, flow=FlowLedger(default_limit=flow_limit), leakage=LayeredLeakage([LeakageLayer(ledger)])
        )

    return GuardChain(CapabilityPolicy((held,)), signing=signing, new_device=new_device)


def outgoing(annotations: AnnotationMap, *, label: str = "Msg", session: str = "s1") -> OutgoingSend:
    return OutgoingSend("p.P", session, "A", "alice", "B", "bob", label, annotations)


GUARDED: AnnotationMap = (
    ("guard_capability", "send"),
    ("flow_cost", 100),
    ("leakage_budget", (0, 0, 1)),
    ("journal_facts", "sent"),
)


def spent(chain: GuardChain) -> tuple[int, LeakageVector]:
    alice = chain.device("alice")
    return alice.flow.budget("p.P", "bob").spent, alice.leakage.layers[0].ledger.spent("p.P")


def test_allowed_send_charges_writes_and_signs() -> None:
    chain = make_chain()
    prepared = chain.prepare(outgoing(GUARDED))
    facts = chain.commit(prepared)
    assert spent(chain) == (100, LeakageVector(0, 0, 1))
    assert [f.name for f in facts] == ["sent"]
    assert [f.name for f in chain.device("alice").journal.facts()] == ["sent"]
    assert prepared.attachments.receipt is not None
    chain.accept(sender_device="alice", receiver_device="bob", attachments=prepared.attachments)


def test_capability_denial_charges_nothing() -> None:
    chain = make_chain(caps=set())
    with pytest.raises(CapabilityDenied) as denied:
        chain.prepare(outgoing(GUARDED))
    assert denied.value.role == "A"
    assert denied.value.capability == "send"
    assert spent(chain) == (0, LeakageVector())
    assert chain.device("alice").journal.facts() == []
    assert chain.metrics.denials["capability"] == 1


def test_budget_denial_writes_no_fact_and_charges_no_leakage() -> None:
    chain = make_chain(flow_limit=150)
    chain.commit(chain.prepare(outgoing(GUARDED)))
    with pytest.raises(BudgetExhausted):
        chain.prepare(outgoing(GUARDED))
    assert spent(chain) == (100, LeakageVector(0, 0, 1))
    assert len(chain.device("alice").journal.facts()) == 1
    assert chain.metrics.denials["flow"] == 1


def test_leakage_denial_charges_no_flow_and_writes_no_fact() -> None:
    chain = make_chain(leakage=LeakageVector(0, 0, 0))
    with pytest.raises(LeakageExceeded):
        chain.prepare(outgoing(GUARDED))
    assert spent(chain) == (0, LeakageVector())
    assert chain.device("alice").journal.facts() == []
    assert chain.metrics.denials["leakage"] == 1


async def test_leakage_and_flow_stay_charged_when_the_transport_refuses() -> None:
    chain = make_chain()

    async def refuse(_attachments: Attachments) -> None:
        raise TransportError("link down")

    with pytest.raises(TransportError):
        await chain.send_guarded(outgoing(GUARDED), refuse)
    assert spent(chain) == (100, LeakageVector(0, 0, 1))
    assert chain.device("alice").journal.facts() == []
    assert chain.metrics.sends_aborted == 1


async def test_facts_are_committed_iff_the_transport_accepts() -> None:
    chain = make_chain()
    delivered: list[Attachments] = []

    async def accept(attachments: Attachments) -> str:
        delivered.append(attachments)
        return "ok"

    async def refuse(_attachments: Attachments) -> None:
        raise TransportError("refused")

    assert await chain.send_guarded(outgoing(GUARDED, label="One"), accept) == "ok"
    with pytest.raises(TransportError):
        await chain.send_guarded(outgoing(GUARDED, label="Two"), refuse)
    await chain.send_guarded(outgoing(GUARDED, label="Three"), accept)
    facts = chain.device("alice").journal.facts()
    assert [(f.label, f.id.counter) for f in facts] == [("One", 1), ("Three", 2)]


def test_revoked_capability_is_denied_at_the_next_send() -> None:
    chain = make_chain()
    chain.commit(chain.prepare(outgoing(GUARDED)))
    layer = chain.capabilities.layers[0]
    assert isinstance(layer, DeviceCapabilities)
    layer.revoke("alice", "send")
    with pytest.raises(CapabilityDenied):
        chain.prepare(outgoing(GUARDED))


def test_unannotated_send_costs_the_default_profile() -> None:
    chain = make_chain()
    chain.commit(chain.prepare(outgoing(())))
    assert spent(chain) == (1, LeakageVector())


def test_annotated_send_without_flow_cost_costs_100() -> None:
    chain = make_chain()
    chain.commit(chain.prepare(outgoing((("guard_capability", "send"),))))
    assert spent(chain)[0] == 100


def test_registered_profile_overrides_annotations() -> None:
    chain = make_chain()
    chain.register_message_guard("Msg", GuardProfile(flow_cost=7, journal_facts=("override",)))
    facts = chain.commit(chain.prepare(outgoing(GUARDED)))
    assert spent(chain) == (7, LeakageVector())
    assert [f.name for f in facts] == ["override"]


def test_journal_merge_carries_this_sends_facts_to_the_receiver() -> None:
    chain = make_chain()
    first = chain.prepare(outgoing(GUARDED))
    chain.commit(first)
    chain.accept(sender_device="alice", receiver_device="bob", attachments=first.attachments)
    merging = chain.prepare(outgoing((*GUARDED[:3], ("journal_facts", "merged"), ("journal_merge", True))))
    delta = merging.attachments.journal_delta
    assert delta is not None
    assert sorted(f.name for f in delta) == ["merged", "sent"]
    chain.commit(merging)
    new = chain.accept(sender_device="alice", receiver_device="bob", attachments=merging.attachments)
    assert sorted(f.name for f in new) == ["merged", "sent"]
    # Until bob's version vector comes back, alice resends what bob may not have (issue #11 item 14).
    unacknowledged = chain.prepare(outgoing((*GUARDED[:3], ("journal_merge", True))))
    assert unacknowledged.attachments.journal_delta is not None
    assert sorted(f.name for f in unacknowledged.attachments.journal_delta) == ["merged", "sent"]
    chain.abort(unacknowledged)
    reply = OutgoingSend("p.P", "s1", "B", "bob", "A", "alice", "Ack", (("journal_merge", True),))
    answer = chain.prepare(reply)
    chain.commit(answer)
    chain.accept(sender_device="bob", receiver_device="alice", attachments=answer.attachments)
    again = chain.prepare(outgoing((*GUARDED[:3], ("journal_merge", True))))
    assert again.attachments.journal_delta is not None
    assert len(again.attachments.journal_delta) == 0


def test_a_send_refused_behind_a_later_one_does_not_make_its_deltas_resent_forever() -> None:
    # The refused send's fact counter can never be used (a later send took the next one): the gap must
    # not hold the version vectors back, or every later delta would carry every fact past it again.
    chain = make_chain(signing=False)
    merging: AnnotationMap = (("flow_cost", 1), ("journal_facts", "sent"), ("journal_merge", True))
    refused = chain.prepare(outgoing(merging))
    accepted = chain.prepare(outgoing(merging))
    chain.commit(accepted)
    chain.abort(refused)
    chain.accept(sender_device="alice", receiver_device="bob", attachments=accepted.attachments)
    deltas = []
    for _ in range(3):  # a few round trips: bob answers with its version vector, alice sends again
        answer = chain.prepare(
            OutgoingSend("p.P", "s1", "B", "bob", "A", "alice", "Ack", (("journal_merge", True),))
        )
        chain.commit(answer)
        chain.accept(sender_device="bob", receiver_device="alice", attachments=answer.attachments)
        again = chain.prepare(outgoing((("flow_cost", 1), ("journal_merge", True))))
        chain.commit(again)
        assert again.attachments.journal_delta is not None
        deltas.append(sorted(f.id.counter for f in again.attachments.journal_delta))
        chain.accept(sender_device="alice", receiver_device="bob", attachments=again.attachments)
    assert deltas[-1] == []
    assert [f.id.counter for f in chain.device("bob").journal.facts()] == [2]


def test_receiver_rejects_a_replayed_message() -> None:
    chain = make_chain()
    prepared = chain.prepare(outgoing(GUARDED))
    chain.commit(prepared)
    chain.accept(sender_device="alice", receiver_device="bob", attachments=prepared.attachments)
    with pytest.raises(ReceiptError, match="replay"):
        chain.accept(sender_device="alice", receiver_device="bob", attachments=prepared.attachments)
    assert chain.metrics.receipts_rejected == 1


def test_receiver_rejects_a_missing_or_misattributed_receipt() -> None:
    chain = make_chain()
    with pytest.raises(ReceiptError, match="no receipt"):
        chain.accept(sender_device="alice", receiver_device="bob", attachments=Attachments())
    prepared = chain.prepare(outgoing(GUARDED))
    with pytest.raises(ReceiptError, match="came from carol"):
        chain.accept(sender_device="carol", receiver_device="bob", attachments=prepared.attachments)


def test_without_signing_no_receipt_is_issued_or_required() -> None:
    chain = make_chain(signing=False)
    prepared = chain.prepare(outgoing(GUARDED))
    assert prepared.attachments.receipt is None
    chain.commit(prepared)
    chain.accept(sender_device="alice", receiver_device="bob", attachments=prepared.attachments)


def test_attachments_survive_the_wire() -> None:
    chain = make_chain()
    prepared = chain.prepare(outgoing((*GUARDED, ("journal_merge", True))))
    wire = prepared.attachments.to_wire()
    assert set(wire) == {"receipt", "journal"}
    assert Attachments.from_wire(wire) == prepared.attachments


def test_malformed_attachments_are_receipt_errors() -> None:
    with pytest.raises(ReceiptError):
        Attachments.from_wire({"receipt": b"not json"})
    with pytest.raises(ReceiptError):
        Attachments.from_wire({"journal": b'[{"counter": "x"}]'})


def test_metrics_time_every_stage_and_count_charges() -> None:
    chain = make_chain()
    chain.commit(chain.prepare(outgoing(GUARDED)))
    chain.commit(chain.prepare(outgoing(())))
    report = chain.metrics.to_json()
    assert report["stage_evaluations"] == {
        "capability": 2,
        "flow": 2,
        "leakage": 2,
        "journal": 2,
        "receipt": 2,
    }
    assert report["flow_charged"] == 101
    assert report["leakage_charged"] == [0, 0, 1]
    assert report["sends_committed"] == 2
    assert report["facts_committed"] == 1
    assert all(seconds >= 0 for seconds in chain.metrics.stage_seconds.values())


def test_session_start_refuses_a_device_missing_a_manifest_capability() -> None:
    chain = make_chain(caps={"send"})
    chain.check_session_start(role="A", device="alice", manifest=("send",), context="p.P", session="s")
    with pytest.raises(CapabilityDenied) as denied:
        chain.check_session_start(
            role="A", device="alice", manifest=("send", "admin"), context="p.P", session="s"
        )
    assert denied.value.capability == "admin"
    assert denied.value.step == "session start"


def test_facts_riding_on_nothing_take_their_ids_when_the_send_commits() -> None:
    # Without journal_merge a send's facts travel with nothing: they are reserved at commit, so a
    # refused send leaves no counter behind, whatever order sends are prepared and committed in.
    chain = make_chain(signing=False)
    first, second, refused = (chain.prepare(outgoing(GUARDED, label=label)) for label in ("A", "B", "C"))
    assert first.pending is None and first.attachments.journal_delta is None
    assert [(f.label, f.id.counter) for f in chain.commit(second)] == [("B", 1)]
    chain.abort(refused)
    assert [(f.label, f.id.counter) for f in chain.commit(first)] == [("A", 2)]
    journal = chain.device("alice").journal
    assert [(f.label, f.id.counter) for f in journal.facts()] == [("B", 1), ("A", 2)]
    assert journal.version_vector().counters == {"alice": 2}
    assert chain.metrics.facts_committed == 2 and chain.metrics.sends_aborted == 1


def test_facts_riding_on_a_delta_are_reserved_when_prepared() -> None:
    chain = make_chain(signing=False)
    merging: AnnotationMap = (("flow_cost", 1), ("journal_facts", "sent"), ("journal_merge", True))
    prepared = chain.prepare(outgoing(merging))
    assert prepared.pending is not None
    delta = prepared.attachments.journal_delta
    assert delta is not None and [f.id.counter for f in delta] == [1]
    assert [f.id for f in chain.commit(prepared)] == [f.id for f in delta]
