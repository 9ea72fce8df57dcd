"""Fixtures record the run's settings and malformed fixtures are typed errors (issue #11 item 16)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aura_choreo.cli.main import cli
from aura_choreo.protocol import load
from aura_choreo.testing.fixtures import (
    FixtureError,
    SimulationFixture,
    fixture_from_json,
    fixture_to_json,
    read_fixture,
)
from aura_choreo.testing.results import SimulationConfig
from aura_choreo.testing.simulation import run_simulation
from aura_choreo.transports.faults import Crash, DropMessage, Partition
from aura_choreo.transports.network import LinkModel, LinkOverride, NetworkModel, UniformLatency

TPC = str(Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo")

VALID = fixture_to_json(
    SimulationFixture(
        seed=3,
        network=NetworkModel(
            LinkModel(latency=UniformLatency(1.0, 20.0), drop=0.1),
            (LinkOverride("Coordinator", "Participant", LinkModel(duplicate=0.2)),),
        ),
        schedule=(
            Partition(("Participant",), 10.0, 50.0),
            Crash("Participant", 5.0, 40.0),
            DropMessage("Coordinator", "Participant", 1),
        ),
        protocol="TwoPhaseCommit",
        peer_timeout=5.0,
        horizon=600.0,
    )
)

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


ALL_PATHS = _paths(VALID)[1:]


def _mutate(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    mutated = copy.deepcopy(document)
    target: Any = mutated
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return mutated


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(ALL_PATHS), JSON_VALUES)
def test_a_mutated_fixture_loads_as_a_runnable_fixture_or_is_a_fixture_error(
    path: tuple[Any, ...], value: Any
) -> None:
    try:
        fixture = fixture_from_json(_mutate(VALID, path, value))
    except FixtureError:
        return
    # Whatever loads runs: no harness crash, whatever the outcome of the run.
    protocol = load(TPC)
    config = SimulationConfig(
        network=fixture.network,
        schedule=fixture.schedule,
        peer_timeout=fixture.peer_timeout,
        horizon=min(fixture.horizon, 120.0),
    )
    run_simulation(protocol, fixture.seed, config)


def test_the_fixture_round_trips_with_its_settings() -> None:
    fixture = fixture_from_json(json.loads(json.dumps(VALID)))
    assert (fixture.peer_timeout, fixture.horizon) == (5.0, 600.0)
    assert fixture_to_json(fixture) == VALID


BAD_FILES: dict[str, bytes] = {
    "binary": b"\xff\xfe\x00garbage",
    "deep": b"[" * 100_000,
    "kind-is-a-list": json.dumps({**VALID, "events": [{"kind": ["crash"]}]}).encode(),
    "nan-time": json.dumps(VALID).replace("40.0", "NaN").encode(),
    "links-not-a-list": json.dumps({**VALID, "network": {"links": 5}}).encode(),
    "role-not-a-name": json.dumps({**VALID, "events": [{"kind": "crash", "role": 5, "at_ms": 1}]}).encode(),
    "negative-index": json.dumps(
        {**VALID, "events": [{"kind": "drop", "src": "a", "dst": "b", "index": -1}]}
    ).encode(),
    "roles-not-names": json.dumps(
        {**VALID, "events": [{"kind": "partition", "roles": [1], "start_ms": 0, "end_ms": 1}]}
    ).encode(),
    "end-before-start": json.dumps(
        {**VALID, "events": [{"kind": "partition", "roles": ["x"], "start_ms": 9, "end_ms": 1}]}
    ).encode(),
    "latency-garbage": json.dumps(
        {**VALID, "network": {"default": {"latency": {"kind": "fixed", "ms": "soon"}}}}
    ).encode(),
    "negative-param": json.dumps({**VALID, "params": {"N": -3}}).encode(),
    "timeout-text": json.dumps({**VALID, "peer_timeout": "5"}).encode(),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_malformed_fixture_is_a_usage_error_not_an_internal_error(name: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(BAD_FILES[name])
    with pytest.raises(FixtureError):
        read_fixture(bad)
    result = CliRunner().invoke(cli, ["simulate", TPC, "--replay", str(bad)])
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output


@pytest.mark.parametrize("option", ["--horizon", "--timeout"])
@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_horizon_and_timeout_must_be_finite(option: str, value: str) -> None:
    result = CliRunner().invoke(cli, ["simulate", TPC, option, value])
    assert result.exit_code == 2, result.output


def test_replay_reproduces_a_failure_that_needs_the_runs_timeout(tmp_path: Path) -> None:
    out = tmp_path / "failing.json"
    slow = ["--delay", "3000..4000", "--timeout", "1", "--horizon", "100"]
    shrunk = CliRunner().invoke(cli, ["simulate", TPC, *slow, "--shrink", str(out)])
    assert shrunk.exit_code == 1 and "PeerTimeout" in shrunk.output
    recorded = json.loads(out.read_text())
    assert (recorded["peer_timeout"], recorded["horizon"]) == (1.0, 100.0)
    replayed = CliRunner().invoke(cli, ["simulate", TPC, "--replay", str(out)])
    assert replayed.exit_code == 1 and "PeerTimeout" in replayed.output
