"""Hypothesis strategies produce valid models and schedules; properties of the model and fixtures."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aura_choreo.testing.fixtures import SimulationFixture, fixture_from_json, fixture_to_json
from aura_choreo.testing.strategies import (
    benign_fault_schedules,
    fault_schedules,
    network_models,
    seeds,
)
from aura_choreo.transports.faults import Crash, DropMessage, DuplicateMessage, FaultSchedule, Partition
from aura_choreo.transports.network import NetworkModel, NetworkState

ROLES = ("Coordinator", "Participant", "Observer")


@settings(max_examples=60, deadline=None)
@given(fault_schedules(ROLES, max_events=6))
def test_fault_schedules_only_name_known_roles_and_sane_times(schedule: FaultSchedule) -> None:
    assert len(schedule) <= 6
    for event in schedule:
        if isinstance(event, Partition):
            assert set(event.roles) <= set(ROLES) and event.start_ms < event.end_ms
        elif isinstance(event, Crash):
            assert event.role in ROLES
            assert event.restart_ms is None or event.restart_ms > event.at_ms
        elif isinstance(event, DropMessage | DuplicateMessage):
            assert event.src != event.dst and {event.src, event.dst} <= set(ROLES)


@settings(max_examples=40, deadline=None)
@given(benign_fault_schedules(ROLES))
def test_benign_schedules_never_crash_or_exhaust_budgets(schedule: FaultSchedule) -> None:
    assert all(isinstance(e, Partition | DropMessage | DuplicateMessage) for e in schedule)


@settings(max_examples=60, deadline=None)
@given(
    seeds,
    network_models(),
    fault_schedules(ROLES),
    st.dictionaries(st.sampled_from("NKM"), st.integers(0, 9)),
)
def test_any_fixture_round_trips_through_json(
    seed: int, model: NetworkModel, schedule: FaultSchedule, params: dict[str, int]
) -> None:
    fixture = SimulationFixture(seed=seed, network=model, schedule=schedule, params=params)
    assert fixture_from_json(fixture_to_json(fixture)) == fixture


@settings(max_examples=40, deadline=None)
@given(seeds, network_models(), fault_schedules(ROLES, crashes=False))
def test_network_fates_depend_only_on_seed_model_and_schedule(
    seed: int, model: NetworkModel, schedule: FaultSchedule
) -> None:
    def fates() -> list[tuple[float, ...]]:
        state = NetworkState(model, schedule, seed)
        return [state.transmit(ROLES[i % 3], ROLES[(i + 1) % 3], 64, i * 3.0).arrivals_ms for i in range(60)]

    assert fates() == fates()


@settings(max_examples=40, deadline=None)
@given(seeds, network_models(max_drop=0.0, max_duplicate=0.0, reorder=False))
def test_a_fault_free_fifo_network_delivers_everything_in_order(seed: int, model: NetworkModel) -> None:
    state = NetworkState(model, (), seed)
    arrivals = [state.transmit("A", "B", 100, i * 1.0).arrivals_ms for i in range(50)]
    assert all(len(a) == 1 for a in arrivals)
    flat = [a[0] for a in arrivals]
    assert flat == sorted(flat) and all(t >= i * 1.0 for i, t in enumerate(flat))
