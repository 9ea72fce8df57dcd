"""The `choreo_sim` fixture of the aura_choreo pytest plugin."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from aura_choreo.testing.pytest_plugin import ChoreoSim
from aura_choreo.transports.faults import Partition
from aura_choreo.transports.network import UniformLatency

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"


class AlwaysAbort:
    def PrepareResponse(self, env: object) -> dict[str, str]:
        return {"vote": "Vote::Abort"}


def test_fixture_runs_user_behaviours_on_a_lossy_network(choreo_sim: ChoreoSim) -> None:
    report = choreo_sim.run(
        TPC, {"Participant": AlwaysAbort()}, runs=10, drop=0.2, duplicate=0.2, latency=UniformLatency(1, 20)
    )
    choreo_sim.assert_ok(report)
    for run in report.runs:
        assert [e.label for e in run.trace.deliveries()][2:] == ["AbortRequest", "AbortAck"]


def test_fixture_accepts_choreography_text(choreo_sim: ChoreoSim) -> None:
    report = choreo_sim.run("choreography Ping { roles: A, B; A -> B: Ping; B -> A: Pong; }", runs=3)
    assert report.ok and len(report.runs) == 3


def test_fixture_resolves_paths_from_the_test_file(choreo_sim: ChoreoSim) -> None:
    relative = Path("..") / ".." / "examples" / "two_phase_commit.choreo"
    assert choreo_sim.run(str(relative)).ok


def test_assert_ok_fails_with_seed_role_and_step(choreo_sim: ChoreoSim) -> None:
    report = choreo_sim.run(TPC, runs=2, faults=(Partition(("Participant",), 0, 10**6),), peer_timeout=1.0)
    with pytest.raises(pytest.fail.Exception) as failed:
        choreo_sim.assert_ok(report)
    text = str(failed.value)
    # Both roles time out at the same virtual instant; whichever timer the loop fires first is reported.
    assert "0 of 2 runs ok" in text
    assert re.search(r"seed 0: PeerTimeout \((Participant at step 1|Coordinator at step 2)\)", text)


def test_the_plugin_is_installed_for_user_test_suites(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(
        "def test_mine(choreo_sim):\n"
        f"    report = choreo_sim.run({str(TPC)!r}, runs=5, drop=0.1)\n"
        "    choreo_sim.assert_ok(report)\n"
        "    assert len(report.runs) == 5\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
