"""Layered capabilities and privacy budgets (SPEC §5.8): each layer refines what the next receives, a
denial names the layer (index and name), and a privacy denial rolls back the earlier layers."""

from __future__ import annotations

import pytest

from aura_choreo.errors import CapabilityDenied, LeakageExceeded
from aura_choreo.guards.capabilities import (
    CapabilityContext,
    CapabilityDenial,
    CapabilityPolicy,
    CapabilityRequest,
    ContextCapabilities,
    DeviceCapabilities,
    RefiningLayer,
)
from aura_choreo.guards.chain import OutgoingSend
from aura_choreo.guards.leakage import LayeredLeakage, LeakageLayer, LeakageLedger, LeakageVector
from aura_choreo.guards.policy_file import parse_policy

HELD = DeviceCapabilities({"dev": {"pay", "refund", "audit"}})
# Layer 2: in the org's payments context, only paying and refunding; it moves the request into the
# sub-protocol context "payments/recovery" that layer 3 then narrows to refunds.
ORG = ContextCapabilities(
    {"payments": {"pay", "refund"}}, name="org", enter={"payments": "payments/recovery"}
)
RECOVERY = ContextCapabilities({"payments/recovery": {"refund"}}, name="recovery")


def request(*required: str, context: str = "payments") -> CapabilityRequest:
    return CapabilityRequest("Teller", "dev", context, required)


def test_each_capability_layer_receives_the_context_the_layer_before_refined() -> None:
    seen: list[CapabilityContext] = []

    def record(context: CapabilityContext) -> CapabilityContext:
        seen.append(context)
        return context

    policy = CapabilityPolicy((HELD, ORG, RefiningLayer("probe", record)))
    allowed = policy.authorize(request("refund"))
    assert isinstance(allowed, CapabilityContext)
    assert seen == [CapabilityContext("Teller", "dev", "payments/recovery", frozenset({"pay", "refund"}))]
    assert allowed.allowed == {"pay", "refund"}


def test_a_second_layer_refines_what_the_first_layer_narrowed_and_denies_by_index_and_name() -> None:
    policy = CapabilityPolicy((ORG, RECOVERY))
    assert isinstance(policy.authorize(request("refund")), CapabilityContext)
    # `pay` passes layer 1 but layer 2, which received layer 1's sub-protocol context, refuses it.
    assert policy.authorize(request("pay")) == CapabilityDenial(2, "recovery", "pay")
    # Outside the context layer 1 moves, layer 2's rule never applies.
    assert isinstance(policy.authorize(request("pay", context="ledger")), CapabilityContext)
    # Layer 2 alone does not know the sub-protocol context: the refinement came from layer 1.
    assert isinstance(CapabilityPolicy((RECOVERY,)).authorize(request("pay")), CapabilityContext)


def test_a_refining_layer_narrows_and_never_widens() -> None:
    widen = RefiningLayer("widen", lambda c: c.narrowed({"pay", "refund", "audit", "root"}))
    policy = CapabilityPolicy((HELD, ORG, widen))
    assert policy.authorize(request("audit")) == CapabilityDenial(2, "org", "audit")
    assert policy.authorize(request("root", context="elsewhere")) == CapabilityDenial(1, "device", "root")


def test_a_capability_denial_names_the_layer_index_its_name_and_the_capability() -> None:
    policy = CapabilityPolicy((HELD, ORG, RECOVERY))
    with pytest.raises(CapabilityDenied) as denied:
        policy.check(request("pay"), session="s1", step="send Pay to Bank")
    assert (denied.value.layer_index, denied.value.layer, denied.value.capability) == (3, "recovery", "pay")
    assert "missing capability `pay` (denied by layer 3 `recovery`)" in str(denied.value)
    assert "role Teller" in str(denied.value)


def _policy(**extra: object):  # type: ignore[no-untyped-def]
    return parse_policy(
        {
            "devices": {"alice": {"capabilities": ["pay", "refund"], "leakage_limits": [100, 100, 100]}},
            "roles": {"Teller": "alice"},
            **extra,
        }
    )


def _send(label: str, *annotations: tuple[str, object], context: str = "payments") -> OutgoingSend:
    return OutgoingSend(
        "p.P", "s1", "Teller", "alice", "Bank", "bank", label, (*annotations, ("flow_cost", 0)), context
    )


def test_policy_file_capability_layers_refine_in_order_and_the_chain_names_the_denying_layer() -> None:
    chain = _policy(
        capability_layers=[
            {"name": "org", "contexts": {"payments": ["pay", "refund"]}, "enter": {"payments": "recovery"}},
            {"name": "recovery", "contexts": {"recovery": ["refund"]}},
        ]
    ).build_chain(clock=lambda: 0.0)
    chain.commit(chain.prepare(_send("Refund", ("guard_capability", "refund"))))
    with pytest.raises(CapabilityDenied, match=r"`pay` \(denied by layer 3 `recovery`\)"):
        chain.prepare(_send("Pay", ("guard_capability", "pay")))
    with pytest.raises(CapabilityDenied, match=r"layer 1 `device`"):
        chain.prepare(_send("Root", ("guard_capability", "root")))


def three_layers() -> tuple[LayeredLeakage, list[LeakageLedger]]:
    ledgers = [
        LeakageLedger(limits=LeakageVector(100, 100, 100), clock=lambda: 0.0, name="device"),
        LeakageLedger(limits=LeakageVector(100, 100, 100), clock=lambda: 0.0, name="org"),
        LeakageLedger(limits=LeakageVector(100, 100, 5), clock=lambda: 0.0, name="region"),
    ]
    layers = [
        LeakageLayer(ledgers[0]),
        # The org charges double for external observers, and budgets all contexts together.
        LeakageLayer(ledgers[1], lambda _c: "*", lambda base, _c: base.scaled(LeakageVector(2, 1, 1))),
        # The region charges group leakage three times over, except in the audit context (free).
        LeakageLayer(
            ledgers[2],
            cost=lambda base, c: LeakageVector() if c == "audit" else base.scaled(LeakageVector(1, 1, 3)),
        ),
    ]
    return LayeredLeakage(layers), ledgers


def test_each_privacy_layer_charges_its_own_cost_and_the_receipt_records_the_layers() -> None:
    layered, ledgers = three_layers()
    receipt = layered.charge("payments", LeakageVector(1, 0, 1))
    assert receipt.base == LeakageVector(1, 0, 1)
    assert receipt.layers() == [
        (1, "device", "payments", LeakageVector(1, 0, 1)),
        (2, "org", "*", LeakageVector(2, 0, 1)),
        (3, "region", "payments", LeakageVector(1, 0, 3)),
    ]
    assert [ledger.spent(c) for ledger, c in zip(ledgers, ("payments", "*", "payments"), strict=True)] == [
        LeakageVector(1, 0, 1),
        LeakageVector(2, 0, 1),
        LeakageVector(1, 0, 3),
    ]
    audit = layered.charge("audit", LeakageVector(0, 0, 1))
    assert audit.layers()[2] == (3, "region", "audit", LeakageVector())


def test_a_third_layer_denial_rolls_back_layers_one_and_two_and_names_the_layer() -> None:
    layered, ledgers = three_layers()
    layered.charge("payments", LeakageVector(0, 0, 1))  # region: 3 of 5
    before = [ledgers[0].spent("payments"), ledgers[1].spent("*"), ledgers[2].spent("payments")]
    with pytest.raises(LeakageExceeded) as denied:
        layered.charge("payments", LeakageVector(1, 0, 1), role="Teller", session="s1")  # region: 3 + 3 > 5
    error = denied.value
    assert (error.layer_index, error.layer) == (3, "region")
    assert "privacy layer 3 `region`" in str(error) and "role Teller" in str(error)
    # What layers 1 and 2 had charged, and gave back.
    assert [(c.layer, c.context, c.amount) for c in error.rolled_back] == [  # type: ignore[attr-defined]
        ("device", "payments", LeakageVector(1, 0, 1)),
        ("org", "*", LeakageVector(2, 0, 1)),
    ]
    after = [ledgers[0].spent("payments"), ledgers[1].spent("*"), ledgers[2].spent("payments")]
    assert after == before


def test_policy_file_privacy_layers_scale_the_base_cost_and_a_denial_rolls_back_through_the_chain() -> None:
    chain = _policy(
        privacy_layers=[
            {"name": "org", "limits": [100, 100, 100], "scope": "global", "scale": [1, 1, 2]},
            {"name": "region", "limits": [100, 100, 4], "contexts": {"audit": [0, 0, 0]}, "scale": [1, 1, 3]},
        ]
    ).build_chain(clock=lambda: 0.0)
    leak = ("leakage_budget", (0, 0, 1))
    prepared = chain.prepare(_send("M", leak))
    assert [(i, name, amount) for i, name, _c, amount in prepared.leakage.layers()] == [
        (1, "leakage", LeakageVector(0, 0, 1)),
        (2, "org", LeakageVector(0, 0, 2)),
        (3, "region", LeakageVector(0, 0, 3)),
    ]
    chain.commit(prepared)
    layers = chain.device("alice").leakage.layers
    with pytest.raises(LeakageExceeded, match="privacy layer 3 `region`"):
        chain.prepare(_send("M", leak))  # region: 3 + 3 > 4
    assert layers[0].ledger.spent("payments") == LeakageVector(0, 0, 1)
    assert layers[1].ledger.spent("*") == LeakageVector(0, 0, 2)
    chain.commit(chain.prepare(_send("M", leak, context="audit")))  # free in the region layer
    assert layers[2].ledger.spent("audit") == LeakageVector()


def test_policy_file_rejects_a_bad_layer_key_naming_it() -> None:
    from aura_choreo.guards.policy import PolicyError

    with pytest.raises(PolicyError, match=r"privacy_layers\[0\]\.scale"):
        _policy(privacy_layers=[{"name": "x", "limits": [1, 1, 1], "scale": [1, 1]}])
    with pytest.raises(PolicyError, match=r"capability_layers\[0\]\.enter\.a"):
        _policy(capability_layers=[{"name": "x", "enter": {"a": 3}}])


def test_the_signed_receipt_records_each_layers_charge_and_a_tampered_record_fails_verification() -> None:
    import dataclasses

    from aura_choreo.errors import ReceiptError
    from aura_choreo.guards.receipts import Receipt, ReceiptVerifier

    chain = _policy(
        signing=True,
        privacy_layers=[
            {"name": "org", "limits": [100, 100, 100], "scope": "global", "scale": [1, 1, 2]},
            {"name": "region", "limits": [100, 100, 100], "scale": [1, 1, 3]},
        ],
    ).build_chain(clock=lambda: 0.0)
    prepared = chain.prepare(_send("M", ("leakage_budget", (0, 0, 1))))
    receipt = prepared.attachments.receipt
    assert receipt is not None
    assert receipt.layers == (("leakage", (0, 0, 1)), ("org", (0, 0, 2)), ("region", (0, 0, 3)))
    decoded = Receipt.from_wire(receipt.to_wire())
    assert decoded == receipt
    key = chain.device("alice").key.public_bytes()
    ReceiptVerifier("bank", {"alice": key}).verify(decoded)
    forged = dataclasses.replace(decoded, layers=(("leakage", (0, 0, 0)),))
    with pytest.raises(ReceiptError, match="bad signature"):
        ReceiptVerifier("bank", {"alice": key}).verify(forged)
    for bad in (
        [["org"]],
        [["org", [1, 2]]],
        [["org", [1, 2, True]]],
        [[1, [1, 2, 3]]],
        "x",
        [["o", [0, 0, 0]]] * 65,
    ):
        with pytest.raises(ReceiptError, match="malformed receipt"):
            Receipt.from_wire({**receipt.to_wire(), "layers": bad})
    # A send no layer charged keeps the receipt it always had: no layers, the same signed bytes.
    plain = chain.prepare(_send("P")).attachments.receipt
    assert plain is not None and plain.layers == () and "layers" not in plain.to_wire()
