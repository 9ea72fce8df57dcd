"""The examples the README shows work as it says, through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aura_choreo", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.choreo")), ids=lambda p: p.name)
def test_every_example_validates_deadlock_free(path: Path) -> None:
    result = _cli("validate", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert all(p["deadlock_free"] for p in report["protocols"])


def test_the_admin_example_runs_under_its_policy() -> None:
    result = _cli(
        "simulate", str(EXAMPLES / "admin_operations.choreo"),
        "--policy", str(EXAMPLES / "admin_policy.toml"), "--runs", "3", "--json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["failed_runs"] == 0


def test_the_admin_example_is_refused_with_one_capability_less(tmp_path: Path) -> None:
    policy = (EXAMPLES / "admin_policy.toml").read_text(encoding="utf-8")
    weaker = tmp_path / "policy.toml"
    weaker.write_text(policy.replace('"admin_access", ', ""), encoding="utf-8")
    result = _cli(
        "simulate", str(EXAMPLES / "admin_operations.choreo"), "--policy", str(weaker), "--json",
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    failure = report["failures"][0]
    assert failure["error"] == "CapabilityDenied"
    assert failure["role"] == "Admin"
    assert "admin_access" in failure["message"]
    assert report["trace"] == []
