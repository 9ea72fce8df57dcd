"""Flow budgets: charge iff spent + cost <= limit, epochs, merge laws."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aura_choreo.errors import BudgetExhausted
from aura_choreo.guards.flow import DEFAULT_FLOW_LIMIT, FlowBudget, FlowLedger


def test_default_limit_is_1024() -> None:
    assert FlowLedger().budget("ctx", "peer") == FlowBudget(1024, 0, 0)
    assert DEFAULT_FLOW_LIMIT == 1024


def test_charge_up_to_the_limit_exactly() -> None:
    ledger = FlowLedger(default_limit=300)
    ledger.charge("ctx", "B", 200)
    ledger.charge("ctx", "B", 100)
    assert ledger.budget("ctx", "B").spent == 300


def test_charge_over_the_limit_is_refused_and_changes_nothing() -> None:
    ledger = FlowLedger(default_limit=300)
    ledger.charge("ctx", "B", 250)
    with pytest.raises(BudgetExhausted) as exhausted:
        ledger.charge("ctx", "B", 51, role="A", session="s1", step="A -> B: M")
    assert ledger.budget("ctx", "B").spent == 250
    assert exhausted.value.role == "A"
    assert exhausted.value.session == "s1"
    assert "250 + cost 51 > limit 300" in str(exhausted.value)


def test_budgets_are_per_context_and_peer() -> None:
    ledger = FlowLedger(default_limit=100, limits={"C": 10})
    ledger.charge("ctx", "B", 100)
    ledger.charge("other", "B", 100)
    ledger.charge("ctx", "D", 100)
    with pytest.raises(BudgetExhausted):
        ledger.charge("ctx", "C", 11)


def test_epoch_rotation_resets_spent() -> None:
    ledger = FlowLedger(default_limit=100)
    ledger.charge("ctx", "B", 100)
    with pytest.raises(BudgetExhausted):
        ledger.charge("ctx", "B", 1)
    assert ledger.rotate_epoch() == 1
    assert ledger.budget("ctx", "B") == FlowBudget(100, 0, 1)
    ledger.charge("ctx", "B", 100)


def test_epochs_follow_an_injected_clock() -> None:
    now = [0.0]
    ledger = FlowLedger(default_limit=10, epoch_seconds=60, clock=lambda: now[0])
    ledger.charge("ctx", "B", 10)
    now[0] = 59.0
    with pytest.raises(BudgetExhausted):
        ledger.charge("ctx", "B", 1)
    now[0] = 61.0
    assert ledger.charge("ctx", "B", 10).epoch == 1


def test_merge_in_one_epoch_is_min_limit_max_spent() -> None:
    assert FlowBudget(100, 30, 2).merge(FlowBudget(80, 50, 2)) == FlowBudget(80, 50, 2)


def test_merge_with_a_stale_epoch_keeps_the_rotation() -> None:
    assert FlowBudget(100, 90, 1).merge(FlowBudget(100, 5, 2)) == FlowBudget(100, 5, 2)


def test_ledger_merges_a_replica() -> None:
    ledger = FlowLedger(default_limit=100)
    ledger.charge("ctx", "B", 10)
    assert ledger.merge_replica("ctx", "B", FlowBudget(100, 60, 0)).spent == 60
    with pytest.raises(BudgetExhausted):
        ledger.charge("ctx", "B", 41)


budgets = st.builds(
    FlowBudget,
    limit=st.integers(0, 2000),
    spent=st.integers(0, 2000),
    epoch=st.integers(0, 5),
)


@settings(max_examples=200)
@given(budgets, budgets)
def test_merge_is_commutative(a: FlowBudget, b: FlowBudget) -> None:
    assert a.merge(b) == b.merge(a)


@settings(max_examples=200)
@given(budgets, budgets, budgets)
def test_merge_is_associative(a: FlowBudget, b: FlowBudget, c: FlowBudget) -> None:
    assert a.merge(b).merge(c) == a.merge(b.merge(c))


@settings(max_examples=100)
@given(budgets)
def test_merge_is_idempotent(a: FlowBudget) -> None:
    assert a.merge(a) == a


@settings(max_examples=100)
@given(budgets, budgets)
def test_merge_never_raises_the_limit_or_lowers_the_epoch(a: FlowBudget, b: FlowBudget) -> None:
    merged = a.merge(b)
    assert merged.limit == min(a.limit, b.limit)
    assert merged.epoch == max(a.epoch, b.epoch)
    if a.epoch == b.epoch:
        assert merged.spent == max(a.spent, b.spent)
