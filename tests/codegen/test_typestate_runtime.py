"""Generated roles run through the same monitor as any other role code: they play with hand-written and
behaviour-driven roles in one session, on the simulator with faults, and a reused state is caught."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from codegen_fixtures import POLL, TPC, Generated, generate_everything, importable

import aura_choreo
from aura_choreo.cli.main import cli
from aura_choreo.codegen import StateReused
from aura_choreo.errors import ProtocolViolation
from aura_choreo.runtime import Endpoint, run_session
from aura_choreo.testing.pytest_plugin import ChoreoSim
from aura_choreo.transports import InMemoryTransport
from aura_choreo.transports.network import UniformLatency


class Votes:
    """A behaviour-driven Participant that votes as told."""

    def __init__(self, vote: str) -> None:
        self.vote = vote

    def PrepareResponse(self, env: object) -> dict[str, str]:
        return {"vote": self.vote}


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """Every seed, example and test protocol compiled, and `mypy --strict` run once over all of it."""
    return generate_everything(tmp_path_factory)


@pytest.fixture
def typing_packages(generated: Generated) -> Iterator[Path]:
    """The generated two_phase_commit and poll packages and the typing programs, importable."""
    yield from importable(generated)


def load(name: str) -> Any:
    return importlib.import_module(name)


async def test_generated_coordinator_and_participant_run_to_completion(typing_packages: Path) -> None:
    programs = load("tpc_ok")
    for vote, outcome, kind in (("Commit", "committed", "Commit"), ("Abort", "aborted", "Abort")):
        session = aura_choreo.load(TPC).session()
        results = await run_session(
            session,
            InMemoryTransport(),
            {
                "Coordinator": lambda ep: programs.coordinator(ep, 41),
                "Participant": lambda ep, vote=vote: programs.participant(ep, vote),
            },
        )
        assert results == {"Coordinator": outcome, "Participant": 41}
        labels = [e.label for e in session.trace.deliveries()]
        assert labels[2:] == [f"{kind}Request", f"{kind}Ack"]


async def test_a_generated_role_plays_with_behaviour_driven_and_hand_written_roles(
    typing_packages: Path,
) -> None:
    programs = load("tpc_ok")
    participant = load("two_phase_commit.participant")
    protocol = aura_choreo.load(TPC)
    results = await run_session(
        protocol.session(),
        InMemoryTransport(),
        {"Coordinator": programs.coordinator, "Participant": Votes("Abort")},
    )
    assert results["Coordinator"] == "aborted"

    async def hand_written(ep: Endpoint) -> str:
        await ep.send("Participant", ep.message("PrepareRequest", transaction_id=5))
        await ep.recv("Participant")
        await ep.send("Participant", ep.message("CommitRequest", transaction_id=5))
        await ep.recv("Participant")
        return "done"

    results = await run_session(
        protocol.session(),
        InMemoryTransport(),
        {"Coordinator": hand_written, "Participant": programs.participant},
    )
    assert results == {"Coordinator": "done", "Participant": 5}
    results = await run_session(
        protocol.session(),
        InMemoryTransport(),
        {
            "Coordinator": programs.coordinator,
            "Participant": lambda ep: participant.run_participant(ep, Votes("Commit")),
        },
    )
    assert results["Coordinator"] == "committed"
    assert results["Participant"]["vote"] == "Commit"


async def test_family_roles_run_with_the_index_as_a_parameter(typing_packages: Path) -> None:
    programs = load("poll_ok")
    protocol = aura_choreo.load(POLL)
    roles: dict[str, Any] = {"Leader": programs.leader}
    for i in range(3):
        roles[f"Voter[{i}]"] = lambda ep, i=i: programs.voter(ep, i, yes=i != 2)
    results = await run_session(protocol.session(), InMemoryTransport(), roles)
    assert results["Leader"] == 2
    assert [results[f"Voter[{i}]"] for i in range(3)] == ["accepted in round 1"] * 3
    # The same leader against default behaviours (random answers): it always reaches its end.
    for seed in range(5):
        results = await run_session(
            protocol.session(), InMemoryTransport(), {"Leader": programs.leader}, seed=seed
        )
        assert results["Leader"] in range(4)


async def test_a_state_used_twice_raises_state_reused(typing_packages: Path) -> None:
    coordinator = load("two_phase_commit.coordinator")

    async def twice(ep: Endpoint) -> None:
        prepare = coordinator.start_coordinator(ep)
        await prepare.send_PrepareRequest(transaction_id=1)
        await prepare.send_PrepareRequest(transaction_id=2)

    with pytest.raises(StateReused) as caught:
        await run_session(aura_choreo.load(TPC).session(), InMemoryTransport(), {"Coordinator": twice})
    assert caught.value.role == "Coordinator"
    assert "state S0 (protocol line 6) was already used" in str(caught.value)


async def test_the_monitor_still_checks_calls_mypy_was_told_to_ignore(typing_packages: Path) -> None:
    coordinator = load("two_phase_commit.coordinator")

    async def wrong_type(ep: Endpoint) -> None:
        prepare = coordinator.start_coordinator(ep)
        await prepare.send_PrepareRequest(transaction_id="one")

    with pytest.raises(ProtocolViolation) as caught:
        await run_session(aura_choreo.load(TPC).session(), InMemoryTransport(), {"Coordinator": wrong_type})
    assert caught.value.role == "Coordinator" and "transaction_id: str" in str(caught.value)


def test_a_start_function_refuses_an_endpoint_of_another_role(typing_packages: Path) -> None:
    coordinator = load("two_phase_commit.coordinator")

    class Fake:
        role = "Participant"

    with pytest.raises(ValueError, match="for role Coordinator, but the endpoint plays Participant"):
        coordinator.start_coordinator(Fake())


def test_generated_roles_run_in_the_simulator_with_faults(
    typing_packages: Path, choreo_sim: ChoreoSim
) -> None:
    programs = load("tpc_ok")
    report = choreo_sim.run(
        TPC,
        {"Coordinator": programs.coordinator, "Participant": Votes("Commit")},
        runs=10,
        drop=0.2,
        duplicate=0.2,
        reorder=True,
        latency=UniformLatency(1, 20),
    )
    choreo_sim.assert_ok(report)
    for run in report.runs:
        assert [e.label for e in run.trace.deliveries()][2:] == ["CommitRequest", "CommitAck"]
    poll = load("poll_ok")
    roles: dict[str, Any] = {"Leader": poll.leader}
    roles.update({f"Voter[{i}]": (lambda ep, i=i: poll.voter(ep, i)) for i in range(3)})
    report = choreo_sim.run(POLL, roles, runs=5, drop=0.3, duplicate=0.1, latency=UniformLatency(1, 10))
    choreo_sim.assert_ok(report)


def test_simulate_runs_a_role_written_against_the_generated_api(
    typing_packages: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "codegen_cli_roles.py").write_text(
        "import tpc_ok\n\nROLES = {'Coordinator': tpc_ok.coordinator, 'Participant': tpc_ok.participant}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(
        cli,
        ["simulate", str(TPC), "--behaviours", "codegen_cli_roles:ROLES", "--runs", "5", "--drop", "0.2",
         "--reorder", "--json"],
    )  # fmt: skip
    sys.modules.pop("codegen_cli_roles", None)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] and report["runs"] == 5
    assert [m["label"] for m in report["trace"]] == [
        "PrepareRequest", "PrepareResponse", "CommitRequest", "CommitAck"
    ]  # fmt: skip


async def test_a_match_value_no_arm_matches_is_a_protocol_violation(typing_packages: Path) -> None:
    programs = load("tpc_ok")
    with pytest.raises(ProtocolViolation) as caught:
        await run_session(
            aura_choreo.load(TPC).session(),
            InMemoryTransport(),
            {"Coordinator": programs.coordinator, "Participant": Votes("Maybe")},
        )
    assert "Vote::Commit" in str(caught.value)
