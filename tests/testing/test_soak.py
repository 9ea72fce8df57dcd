"""Soak tests (opt-in: `pytest -m slow`): many seeds, heavy faults, every well-formed seed choreography."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aura_choreo import Protocol, load_all
from aura_choreo.testing.simulation import SimulationConfig, simulate
from aura_choreo.testing.strategies import benign_fault_schedules, network_models, seeds
from aura_choreo.transports.network import LinkModel, NetworkModel, UniformLatency
from conftest import seed_files

UNDEFINED_SUBPROTOCOLS = {"003_AdaptiveSync", "003_HierarchicalConsensus", "003_SecureDataTransfer"}
WELL_FORMED = [p for p in seed_files() if p.stem not in UNDEFINED_SUBPROTOCOLS]
HEAVY = NetworkModel(LinkModel(latency=UniformLatency(1, 200), drop=0.3, duplicate=0.3, reorder=True))

pytestmark = pytest.mark.slow


def protocols(path: Path) -> list[Protocol]:
    return list(load_all(path).values())


@pytest.mark.parametrize("path", WELL_FORMED, ids=lambda p: p.stem)
def test_200_runs_on_a_heavily_faulty_network(path: Path) -> None:
    for protocol in protocols(path):
        report = simulate(protocol, seed=1000, runs=200, config=SimulationConfig(network=HEAVY), check=True)
        assert report.ok, report.summary()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(WELL_FORMED), seeds, network_models(), st.data())
def test_any_benign_faults_are_masked(
    path: Path, seed: int, network: NetworkModel, data: st.DataObject
) -> None:
    for protocol in protocols(path):
        schedule = data.draw(benign_fault_schedules(protocol.roles, max_events=6))
        report = simulate(
            protocol, seed=seed, runs=1, config=SimulationConfig(network=network, schedule=schedule)
        )
        assert report.ok, report.summary()
