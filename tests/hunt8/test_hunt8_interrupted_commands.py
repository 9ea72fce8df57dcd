"""`simulate --json` (and every other command) stopped by Ctrl-C or SIGTERM printed no JSON, found by hunt8.

SPEC §7: `--json` gives machine-readable output on every command. Ctrl-C during a long `simulate
--json` printed click's "Aborted!" (and asyncio's "Task was destroyed but it is pending!") with
nothing on stdout; SIGTERM killed the process without a word (exit 143). Fixed in cli/main.py: SIGTERM
is handled like Ctrl-C, and an interrupted command under `--json` prints its own failure document
(`cli.failure_json`, with every field of its contract) whose error says it was interrupted; exit 1.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TPC = str(Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo")
SIMULATE_FIELDS = {"ok", "runs", "failed_runs", "failures", "trace"}


@pytest.mark.parametrize(
    "sig",
    [signal.SIGINT, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)],  # about 4 s each
    ids=["SIGINT", "SIGTERM"],
)
def test_an_interrupted_simulate_json_prints_its_document(sig: signal.Signals, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    # A behaviour file that says when the runs have begun (the import happens before the first run).
    behaviours = tmp_path / "beh.py"
    behaviours.write_text(f"from pathlib import Path\nPath({str(marker)!r}).touch()\nROLES = {{}}\n")
    command = [sys.executable, "-m", "aura_choreo.cli", "simulate", TPC, "--runs", "100000", "--json"]
    process = subprocess.Popen(
        [*command, "--behaviours", f"{behaviours}:ROLES"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # into the runs
    process.send_signal(sig)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    document = json.loads(out)
    assert SIMULATE_FIELDS <= document.keys() and document["ok"] is False
    assert "interrupted" in document["error"]
    assert "Traceback" not in err and "Aborted!" not in err
