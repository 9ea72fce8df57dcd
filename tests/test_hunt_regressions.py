"""Failures found by adversarial runs of the corpus as a new user meets them (each xfail until fixed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from aura_choreo.cli.main import cli
from aura_choreo.transports.net.identity import write_key_file
from conftest import SHARED, free_port

TPC = Path(__file__).resolve().parents[1] / "examples" / "two_phase_commit.choreo"


def deployment_policy(folder: Path) -> Path:
    """A policy as `run` needs it: every device's pinned `public_key` (from keygen) and an address."""
    lines = ["[roles]", 'Coordinator = "dev-c"', 'Participant = "dev-p"']
    for device in ("dev-c", "dev-p"):
        port = free_port()
        _, public = write_key_file(device, folder / "keys")
        lines += [
            "",
            f'[devices."{device}"]',
            f'public_key = "{public}"',
            f'address = "tcp://127.0.0.1:{port}"',
        ]
    policy = folder / "policy.toml"
    policy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return policy


def test_simulate_accepts_the_deployment_policy_that_run_uses(tmp_path: Path) -> None:
    policy = deployment_policy(tmp_path)
    outcome = CliRunner().invoke(cli, ["simulate", str(TPC), "--policy", str(policy)])
    assert "bad signature" not in outcome.output
    assert outcome.exit_code == 0, outcome.output


# Was: a behaviour-driven role wiped and restarted from its checkpoint kept the custom-loop condition
# it drew before the crash (restored in env, but the new adapter did not know the behaviour had
# supplied it, so never asked again): sensor_fusion's `has_more_frames` loop never ended.
def test_a_wiped_role_draws_its_custom_loop_condition_afresh_after_restart() -> None:
    file = SHARED / "corpus" / "literature" / "sensor_fusion.choreo"
    # Without the crash the run ends within 0.02 s of virtual time; 0.2 s is ample.
    args = ["simulate", str(file), "--crash", "Clock@2:wipe", "--horizon", "0.2", "--json"]
    outcome = CliRunner().invoke(cli, args)
    assert json.loads(outcome.output)["failures"] == []  # not: Stuck (Clock ...) at the horizon
    assert outcome.exit_code == 0


RAISING_BEHAVIOUR = """
class Raiser:
    def CommitRequest(self, env):
        raise RuntimeError("boom")

    def AbortRequest(self, env):
        raise RuntimeError("boom")
"""


def test_run_json_reports_a_raising_behaviour_as_a_failed_run_document(tmp_path: Path) -> None:
    policy = deployment_policy(tmp_path)
    (tmp_path / "raiser.py").write_text(RAISING_BEHAVIOUR, encoding="utf-8")

    def start(role: str, device: str, *extra: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "aura_choreo.cli", "run", str(TPC), "--role", role]
        command += ["--policy", str(policy), "--key", str(tmp_path / "keys" / f"{device}.key"), "--json"]
        command += ["--connect-timeout", "20", "--timeout", "3", *extra]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    participant = start("Participant", "dev-p")
    coordinator = start("Coordinator", "dev-c", "--behaviours", f"{tmp_path / 'raiser.py'}:Raiser")
    out, err = coordinator.communicate(timeout=60)
    participant.communicate(timeout=60)
    assert coordinator.returncode == 1, err
    assert "internal error" not in err
    document = json.loads(out)
    assert document["ok"] is False and document["error"]["role"] == "Coordinator"
    assert document["error"]["error"] == "BehaviourError"
    assert document["error"]["step"] == "send CommitRequest to Participant"
    assert "Raiser raised RuntimeError: boom" in document["error"]["message"]


def test_simulate_names_the_role_and_step_of_a_raising_behaviour(tmp_path: Path) -> None:
    (tmp_path / "raiser.py").write_text(RAISING_BEHAVIOUR, encoding="utf-8")
    args = ["simulate", str(TPC), "--behaviours", f"{tmp_path / 'raiser.py'}:Raiser", "--json"]
    outcome = CliRunner().invoke(cli, args)
    assert outcome.exit_code == 1, outcome.output
    (failure,) = json.loads(outcome.output)["failures"]
    assert failure["error"] == "BehaviourError" and failure["role"] == "Coordinator"
    assert failure["step"] == "send CommitRequest to Participant"
