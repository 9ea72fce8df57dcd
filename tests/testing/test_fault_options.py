"""The CLI's fault option syntax."""

from __future__ import annotations

import pytest

from aura_choreo.testing.fault_options import (
    parse_crash,
    parse_delay,
    parse_partition,
    parse_probability,
    parse_time_ms,
)
from aura_choreo.transports.faults import Crash, Partition
from aura_choreo.transports.network import FixedLatency, UniformLatency


@pytest.mark.parametrize(
    ("text", "ms"),
    [("250", 250.0), ("250ms", 250.0), ("1.5s", 1500.0), ("2m", 120_000.0), ("1h", 3_600_000.0)],
)
def test_times_accept_units(text: str, ms: float) -> None:
    assert parse_time_ms(text) == ms


def test_delay_range_and_fixed_delay() -> None:
    assert parse_delay("5..50") == UniformLatency(5.0, 50.0)
    assert parse_delay("1s..2s") == UniformLatency(1000.0, 2000.0)
    assert parse_delay("7") == FixedLatency(7.0)
    assert parse_delay("3..3") == FixedLatency(3.0)


def test_partition_roles_and_window() -> None:
    assert parse_partition("Coordinator,Participant@100..2s") == Partition(
        ("Coordinator", "Participant"), 100.0, 2000.0
    )
    assert parse_partition("Voter[1]@0..10") == Partition(("Voter[1]",), 0.0, 10.0)


def test_crash_forms() -> None:
    assert parse_crash("B@40") == Crash("B", 40.0)
    assert parse_crash("B@40..90") == Crash("B", 40.0, 90.0, keep_journal=True)
    assert parse_crash("B@40..90:wipe") == Crash("B", 40.0, 90.0, keep_journal=False)
    # issue 17: `R@T:wipe` loses the role's memory and restarts it at once from its journal
    assert parse_crash("B@40:wipe") == Crash("B", 40.0, 40.0, keep_journal=False)


def test_probabilities() -> None:
    assert parse_probability("0.25", "--drop") == 0.25
    assert parse_probability("30%", "--drop") == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: parse_time_ms("soon"), "expected a time"),
        (lambda: parse_delay("50..5"), "ends before it starts"),
        (lambda: parse_partition("A,B"), "expected --partition"),
        (lambda: parse_partition("@1..2"), "at least one role"),
        (lambda: parse_partition("A@5"), "as A..B"),
        (lambda: parse_crash("40"), "expected --crash"),
        (lambda: parse_probability("lots", "--drop"), "expects a probability"),
        (lambda: parse_probability("1.5", "--dup"), "between 0 and 1"),
    ],
)
def test_bad_options_say_what_was_expected(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_budget_exhaustion_option() -> None:
    from aura_choreo.testing.fault_options import parse_exhaustion
    from aura_choreo.transports.faults import BudgetExhaustion

    assert parse_exhaustion("A@10") == BudgetExhaustion("A", 10.0, None)
    assert parse_exhaustion("A:B@2s") == BudgetExhaustion("A", 2000.0, "B")
    with pytest.raises(ValueError, match="expected --exhaust"):
        parse_exhaustion("A")
