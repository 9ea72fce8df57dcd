"""Property: whatever sequence of sends, denials and transport refusals, the chain's books balance."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aura_choreo.errors import BudgetExhausted, CapabilityDenied, LeakageExceeded
from aura_choreo.guards import LeakageVector, parse_policy
from aura_choreo.guards.chain import OutgoingSend

sends = st.lists(
    st.tuples(
        st.integers(0, 400),  # flow cost
        st.integers(0, 3),  # group leakage
        st.booleans(),  # needs a capability the device lacks
        st.booleans(),  # the transport refuses it
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(sends)
def test_budgets_facts_and_receipts_stay_consistent(ops: list[tuple[int, int, bool, bool]]) -> None:
    policy = parse_policy(
        {
            "defaults": {"flow_limit": 1000, "leakage_limits": [100, 100, 10]},
            "devices": {"a": {"capabilities": ["send"]}},
        }
    )
    chain = policy.build_chain(clock=lambda: 0.0)
    flow_paid = leak_paid = committed = 0
    for i, (cost, leak, forbidden, refused) in enumerate(ops):
        annotations = (
            ("guard_capability", "root" if forbidden else "send"),
            ("flow_cost", cost),
            ("leakage_budget", (0, 0, leak)),
            ("journal_facts", f"f{i}"),
        )
        send = OutgoingSend("p.P", "s", "A", "a", "B", "b", "M", annotations)
        try:
            prepared = chain.prepare(send)
        except CapabilityDenied:
            assert forbidden
            continue
        except BudgetExhausted:
            assert flow_paid + cost > 1000
            continue
        except LeakageExceeded:
            assert leak_paid + leak > 10
            continue
        assert not forbidden
        flow_paid += cost
        leak_paid += leak
        if refused:
            chain.abort(prepared)
            continue
        chain.commit(prepared)
        committed += 1
        chain.accept(sender_device="a", receiver_device="b", attachments=prepared.attachments)

    device = chain.device("a")
    assert device.flow.budget("p.P", "b").spent == flow_paid <= 1000
    assert device.leakage.layers[0].ledger.spent("p.P") == LeakageVector(0, 0, leak_paid)
    facts = device.journal.facts()
    assert len(facts) == committed
    assert [f.id.counter for f in facts] == list(range(1, committed + 1))
    assert chain.metrics.receipts_verified == committed
