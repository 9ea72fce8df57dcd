"""Shrinking a seeded failing fault schedule down to a handful of events, and replaying it."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from aura_choreo import Protocol, load
from aura_choreo.testing.fixtures import read_fixture, write_fixture
from aura_choreo.testing.minimise import minimise_run, replay
from aura_choreo.testing.simulation import SimulationConfig, run_simulation
from aura_choreo.transports.faults import Crash, DropMessage, DuplicateMessage, FaultEvent, Partition
from aura_choreo.transports.network import LinkModel, NetworkModel, UniformLatency

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROLES = ("Coordinator", "Participant")


@pytest.fixture(scope="module")
def tpc() -> Protocol:
    return load(EXAMPLES / "two_phase_commit.choreo")


def noisy_schedule(seed: int, size: int) -> tuple[FaultEvent, ...]:
    """A seeded schedule of mostly harmless faults with one fatal crash hidden in the middle."""
    rng = random.Random(seed)
    events: list[FaultEvent] = []
    for _ in range(size):
        src, dst = rng.sample(ROLES, 2)
        kind = rng.choice(["drop", "dup", "blip"])
        if kind == "drop":
            events.append(DropMessage(src, dst, rng.randrange(6)))
        elif kind == "dup":
            events.append(DuplicateMessage(src, dst, rng.randrange(6)))
        else:
            start = float(rng.randrange(0, 2_000))
            events.append(Partition((rng.choice(ROLES),), start, start + rng.randrange(1, 300)))
    events.insert(size // 2, Crash("Participant", 1.5))
    return tuple(events)


def test_a_seeded_failing_schedule_shrinks_to_a_handful_of_events(tpc: Protocol) -> None:
    schedule = noisy_schedule(11, 40)
    config = SimulationConfig(
        network=NetworkModel(LinkModel(latency=UniformLatency(1, 5), drop=0.1, duplicate=0.1)),
        schedule=schedule,
        peer_timeout=5.0,
    )
    assert run_simulation(tpc, 3, config).failure is not None
    minimal = minimise_run(tpc, 3, config)
    assert minimal.original_events == 41
    assert 1 <= len(minimal.config.schedule) <= 3
    assert any(isinstance(e, Crash) for e in minimal.config.schedule)
    assert minimal.result.failure is not None
    # the network was simplified too: the failure does not need loss or duplication
    assert minimal.config.network.default.drop == 0.0 and minimal.config.network.default.duplicate == 0.0


def test_the_shrunk_run_keeps_the_original_failure(tpc: Protocol) -> None:
    config = SimulationConfig(schedule=noisy_schedule(5, 20), peer_timeout=5.0)
    original = run_simulation(tpc, 1, config).failure
    minimal = minimise_run(tpc, 1, config)
    assert original is not None and minimal.result.failure is not None
    assert (minimal.result.failure.error, minimal.result.failure.role) == (original.error, original.role)


def test_fixture_replays_the_same_failure_byte_for_byte(tpc: Protocol, tmp_path: Path) -> None:
    config = SimulationConfig(schedule=noisy_schedule(7, 15), peer_timeout=5.0)
    minimal = minimise_run(tpc, 2, config)
    path = tmp_path / "failing.json"
    write_fixture(path, minimal.fixture(protocol=tpc.qualified_name))
    fixture = read_fixture(path)
    assert fixture.protocol == "TwoPhaseCommit" and "shrunk from 16 events" in fixture.note
    again = replay(tpc, fixture, base=SimulationConfig(peer_timeout=5.0))
    assert again.failure == minimal.result.failure
    assert again.trace.to_jsonl() == minimal.result.trace.to_jsonl()


def test_a_passing_run_cannot_be_minimised(tpc: Protocol) -> None:
    with pytest.raises(ValueError, match="does not fail"):
        minimise_run(tpc, 0, SimulationConfig())
