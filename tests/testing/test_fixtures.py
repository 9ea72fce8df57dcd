"""Replayable JSON fixtures round-trip exactly and reject malformed files with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aura_choreo.testing.fixtures import (
    FixtureError,
    SimulationFixture,
    fixture_from_json,
    fixture_to_json,
    read_fixture,
    write_fixture,
)
from aura_choreo.transports.faults import BudgetExhaustion, Crash, DropMessage, DuplicateMessage, Partition
from aura_choreo.transports.network import (
    ExponentialLatency,
    LinkModel,
    LinkOverride,
    NetworkModel,
    UniformLatency,
)

HEAD = {"format": "aura-choreo.simulation-fixture", "version": 1}

FIXTURE = SimulationFixture(
    seed=17,
    network=NetworkModel(
        LinkModel(latency=UniformLatency(1.0, 20.0), drop=0.1, duplicate=0.05, reorder=True),
        (LinkOverride("A", "B", LinkModel(latency=ExponentialLatency(5.0, 1.0), bandwidth=1e6)),),
    ),
    schedule=(
        Partition(("A", "B"), 10.0, 50.0),
        Crash("C", 5.0, restart_ms=None, keep_journal=False),
        DropMessage("A", "B", 2),
        DuplicateMessage("B", "A", 0),
        BudgetExhaustion("A", 30.0, peer=None),
    ),
    protocol="tpc.TwoPhaseCommit",
    params={"N": 4},
    note="shrunk from 40 events",
)


def test_round_trip_through_json_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "fixture.json"
    write_fixture(path, FIXTURE)
    assert read_fixture(path) == FIXTURE


def test_json_shape_is_readable() -> None:
    data = fixture_to_json(FIXTURE)
    assert data["format"] == "aura-choreo.simulation-fixture"
    assert data["events"][0] == {"kind": "partition", "roles": ["A", "B"], "start_ms": 10.0, "end_ms": 50.0}
    assert data["network"]["default"]["latency"] == {"kind": "uniform", "low_ms": 1.0, "high_ms": 20.0}


def test_minimal_document_gets_defaults() -> None:
    fixture = fixture_from_json({**HEAD, "seed": 3})
    assert fixture == SimulationFixture(seed=3)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"seed": 1}, "not a simulation fixture"),
        ({**HEAD, "version": 9, "seed": 1}, "unsupported fixture version"),
        ({**HEAD, "seed": "x"}, "`seed` must be an integer"),
        (
            {**HEAD, "seed": 1, "events": [{"kind": "meteor"}]},
            "fault event must be an object",
        ),
        (
            {
                "format": "aura-choreo.simulation-fixture",
                "version": 1,
                "seed": 1,
                "events": [{"kind": "crash", "role": "A", "at_ms": 1, "colour": "red"}],
            },
            "unknown fields",
        ),
        (
            {**HEAD, "seed": 1, "events": [{"kind": "crash"}]},
            "bad fault event",
        ),
        (
            {**HEAD, "seed": 1, "network": {"default": {"drop": 3}}},
            "drop probability",
        ),
    ],
)
def test_malformed_documents_raise_fixture_error(document: dict[str, object], message: str) -> None:
    with pytest.raises(FixtureError, match=message):
        fixture_from_json(document)


def test_unreadable_and_invalid_json_files_raise_fixture_error(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="cannot read"):
        read_fixture(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(FixtureError, match="invalid JSON"):
        read_fixture(bad)
    json.loads(json.dumps(fixture_to_json(FIXTURE)))  # the document itself is plain JSON
