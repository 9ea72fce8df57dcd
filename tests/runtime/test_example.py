"""The two-phase-commit runtime example runs and does what it says."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit_runtime.py"


def test_the_two_phase_commit_example_commits_then_aborts(capsys: pytest.CaptureFixture[str]) -> None:
    sys.modules.pop("two_phase_commit_runtime", None)
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "participant votes Commit on transaction 1001" in out
    assert "coordinator: committed" in out
    assert "participant votes Abort on transaction 1002" in out
    assert "coordinator: aborted" in out
    assert "Participant -> Coordinator: AbortAck (seq 2)" in out
