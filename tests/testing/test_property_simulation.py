"""Property-based: any scripted behaviours on any benign faulty network finish and follow the protocol."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aura_choreo import Protocol, load
from aura_choreo.projection.local_types import Choose
from aura_choreo.testing.simulation import SimulationConfig, run_simulation
from aura_choreo.testing.strategies import (
    ScriptedBehaviour,
    behaviours,
    benign_fault_schedules,
    network_models,
)
from aura_choreo.testing.trace_check import check_trace
from aura_choreo.transports.faults import FaultSchedule
from aura_choreo.transports.network import NetworkModel
from conftest import SEED_CORPUS

WITH_CHOICES = ["001_Negotiation", "001_ConditionalProtocol", "001_DecisionLoop", "003_DistributedAuction"]


@pytest.fixture(scope="module", params=WITH_CHOICES)
def protocol(request: pytest.FixtureRequest) -> Protocol:
    return load(SEED_CORPUS / f"{request.param}.choreo")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_scripted_behaviours_on_a_lossy_network_follow_the_protocol(
    protocol: Protocol, data: st.DataObject
) -> None:
    roles: dict[str, ScriptedBehaviour] = data.draw(behaviours(protocol), label="behaviours")
    network: NetworkModel = data.draw(network_models(max_drop=0.2, max_duplicate=0.2), label="network")
    schedule: FaultSchedule = data.draw(benign_fault_schedules(protocol.roles, max_events=4), label="faults")
    seed = data.draw(st.integers(0, 1000), label="seed")
    result = run_simulation(protocol, seed, SimulationConfig(network=network, schedule=schedule), roles=roles)
    assert result.ok, result.failure
    assert check_trace(protocol, result.trace).ok
    for role, behaviour in roles.items():
        chosen = [e.label for e in result.trace if e.role == role and e.kind == "choose"]
        assert chosen == behaviour.decisions


def test_scripted_decisions_follow_the_script_then_fall_back() -> None:
    protocol = load(SEED_CORPUS / "001_DecisionLoop.choreo")
    (choice,) = [s for s in protocol.local_type("Client").iter_steps() if isinstance(s, Choose)]
    scripted = ScriptedBehaviour({choice.choice: choice.branches}, [0, 0, 0, 1], fallback_seed=1)
    result = run_simulation(protocol, 0, roles={"Client": scripted})
    assert result.ok
    assert scripted.decisions == ["continue", "continue", "continue", "stop"]
    assert [e.label for e in result.trace.deliveries()].count("Request") == 3


@settings(max_examples=5, deadline=None)
@given(behaviours(load(SEED_CORPUS / "001_Negotiation.choreo")))
def test_behaviours_strategy_covers_only_roles_with_choices(drawn: dict[str, ScriptedBehaviour]) -> None:
    assert set(drawn) == {"Seller"}
