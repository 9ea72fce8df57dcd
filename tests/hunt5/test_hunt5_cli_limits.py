"""CLI input that exhausts the machine instead of being refused or streamed, found by hunt5 (xfail)."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"
_MEMORY = 1 << 30  # bytes of address space the command may use: ample for any one simulated run


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY, _MEMORY))


# Found by fuzzing options: `simulate --runs 100000000000` (a few zeros too many) first builds the
# list of every seed (`cli/cmd_simulate.py`, `seeds = [seed + i for i in range(runs)]`; likewise
# `testing/simulation.py`) and keeps every run's result, so it takes all the memory of the machine;
# under a 1 GiB limit it ends, after 10-15 s on 2 busy cores, in "internal error: MemoryError ...
# report it". Either refusing such a count (exit 2) or streaming the runs in bounded memory is fine.
@pytest.mark.slow
def test_a_huge_run_count_is_refused_or_streamed_not_a_memory_error() -> None:
    command = [sys.executable, "-m", "aura_choreo.cli", "simulate", str(TPC), "--runs", str(10**11), "--json"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_limit_memory
    )
    try:
        _, stderr = process.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        assert "MemoryError" not in stderr  # still running after 40 s in bounded memory: streaming
        return
    assert "MemoryError" not in stderr and "internal error" not in stderr, stderr
    assert process.returncode == 2, stderr  # ended by itself: only as a usage error
