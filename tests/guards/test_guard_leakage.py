"""Leakage budgets: per-context limits, rolling window on an injected clock, layers with rollback."""

from __future__ import annotations

import pytest

from aura_choreo.errors import LeakageExceeded
from aura_choreo.guards import LeakageVector
from aura_choreo.guards.leakage import DEFAULT_LEAKAGE_LIMITS, LayeredLeakage, LeakageLayer, LeakageLedger


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_default_limits_and_window() -> None:
    ledger = LeakageLedger()
    assert DEFAULT_LEAKAGE_LIMITS == LeakageVector(1000, 500, 100)
    assert ledger.limit("any") == LeakageVector(1000, 500, 100)
    assert ledger.window_seconds == 24 * 3600


def test_charges_accumulate_per_context() -> None:
    ledger = LeakageLedger(clock=FakeClock())
    ledger.charge("a", LeakageVector(1, 2, 3))
    ledger.charge("a", LeakageVector(1, 0, 0))
    ledger.charge("b", LeakageVector(5, 5, 5))
    assert ledger.spent("a") == LeakageVector(2, 2, 3)
    assert ledger.spent("b") == LeakageVector(5, 5, 5)


def test_charge_over_any_class_is_refused_and_charges_nothing() -> None:
    ledger = LeakageLedger(limits=LeakageVector(10, 10, 1), clock=FakeClock())
    ledger.charge("a", LeakageVector(0, 0, 1))
    with pytest.raises(LeakageExceeded) as exceeded:
        ledger.charge("a", LeakageVector(1, 1, 1), role="Sender", session="s")
    assert "group" in str(exceeded.value)
    assert exceeded.value.role == "Sender"
    assert ledger.spent("a") == LeakageVector(0, 0, 1)


def test_window_rolls_old_charges_off() -> None:
    clock = FakeClock()
    ledger = LeakageLedger(limits=LeakageVector(0, 0, 2), window_seconds=60, clock=clock)
    ledger.charge("a", LeakageVector(0, 0, 2))
    clock.now += 59
    with pytest.raises(LeakageExceeded):
        ledger.charge("a", LeakageVector(0, 0, 1))
    clock.now += 2
    assert ledger.spent("a") == LeakageVector()
    ledger.charge("a", LeakageVector(0, 0, 2))


def test_per_context_limits_override_the_default() -> None:
    ledger = LeakageLedger(context_limits={"tight": LeakageVector(0, 0, 0)}, clock=FakeClock())
    ledger.charge("loose", LeakageVector(0, 0, 1))
    with pytest.raises(LeakageExceeded):
        ledger.charge("tight", LeakageVector(0, 0, 1))


def test_a_later_layer_denial_rolls_back_earlier_layers() -> None:
    clock = FakeClock()
    device = LeakageLedger(limits=LeakageVector(100, 100, 100), clock=clock, name="device")
    org = LeakageLedger(limits=LeakageVector(100, 100, 3), clock=clock, name="org")
    layered = LayeredLeakage([LeakageLayer(device), LeakageLayer(org, lambda _c: "*")])
    layered.charge("p1", LeakageVector(0, 0, 2))
    with pytest.raises(LeakageExceeded) as exceeded:
        layered.charge("p2", LeakageVector(0, 0, 2))
    assert "org" in str(exceeded.value)
    assert device.spent("p2") == LeakageVector()
    assert device.spent("p1") == LeakageVector(0, 0, 2)
    assert org.spent("*") == LeakageVector(0, 0, 2)


def test_layer_scopes_refine_the_context() -> None:
    clock = FakeClock()
    per_context = LeakageLedger(limits=LeakageVector(0, 0, 1), clock=clock)
    layered = LayeredLeakage([LeakageLayer(per_context)])
    layered.charge("p1", LeakageVector(0, 0, 1))
    layered.charge("p2", LeakageVector(0, 0, 1))
    with pytest.raises(LeakageExceeded):
        layered.charge("p1", LeakageVector(0, 0, 1))


def test_rollback_of_a_foreign_charge_is_refused() -> None:
    a, b = LeakageLedger(clock=FakeClock()), LeakageLedger(clock=FakeClock())
    charge = a.charge("x", LeakageVector(1, 0, 0))
    with pytest.raises(ValueError):
        b.rollback(charge)
