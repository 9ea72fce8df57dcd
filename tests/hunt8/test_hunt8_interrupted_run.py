"""`run --json` stopped by Ctrl-C or SIGTERM printed no JSON at all, found by hunt8.

SPEC §7: `--json` gives machine-readable output on every command. A role interrupted while it
waited for its peers (or mid-session) printed click's "Aborted!" on SIGINT and nothing on stdout, and
on SIGTERM (what a process manager sends) died with no output at all, losing the trace of what it had
already sent and received. Fixed in cli/cmd_run.py (SIGINT and SIGTERM set an interrupt) and
deployment/run.py (`run_deployed_role(..., interrupt=...)` stops the role, closes its connections and
returns an outcome whose error is `RunInterrupted`, with the events so far): exit 1, a run failure.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deployment"))
from deploy_cluster import finish, make_cluster

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"
BEHAVIOURS = f"{Path(__file__).parent / 'hunt8_behaviours.py'}:SlowParticipant"


def wait_for(condition: object, process: subprocess.Popen[str], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition() and process.poll() is None and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


def listening(policy: Path) -> bool:
    """Whether the participant's address (the second in the policy) accepts connections."""
    port = int(re.findall(r"127\.0\.0\.1:(\d+)", policy.read_text(encoding="utf-8"))[1])
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def interrupted(result_out: str) -> dict[str, object]:
    document = json.loads(result_out)
    assert document["ok"] is False
    error = document["error"]
    assert isinstance(error, dict) and error["error"] == "RunInterrupted"
    return document


@pytest.mark.parametrize(
    "sig",
    [pytest.param(signal.SIGINT, marks=pytest.mark.slow), signal.SIGTERM],  # about 2.5 s each
    ids=["SIGINT", "SIGTERM"],
)
def test_a_role_interrupted_while_waiting_for_its_peers_prints_its_json_result(
    sig: signal.Signals, tmp_path: Path
) -> None:
    cluster = make_cluster(tmp_path, ("Coordinator", "Participant"))
    command = [*cluster.command(TPC, "Participant")[:-4], "--connect-timeout", "60"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    wait_for(lambda: listening(cluster.policy), process)
    process.send_signal(sig)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    document = interrupted(out)
    assert document["role"] == "Participant" and document["trace"] == []
    assert sig.name in document["error"]["message"]  # type: ignore[index]
    assert "Traceback" not in err and "Aborted" not in err


@pytest.mark.slow  # about 8 s: two interpreters
def test_a_role_interrupted_mid_session_keeps_its_trace_so_far(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = make_cluster(tmp_path, ("Coordinator", "Participant"))
    marker = tmp_path / "marker"
    monkeypatch.setenv("AURA_TEST_MARKER", str(marker))
    monkeypatch.setenv("AURA_TEST_PAUSE", "30")
    participant = cluster.start(TPC, "Participant", "--behaviours", BEHAVIOURS)
    coordinator = cluster.start(TPC, "Coordinator", "--timeout", "5")
    wait_for(marker.exists, participant)
    participant.send_signal(signal.SIGINT)
    result = finish(participant, 30)
    assert result.code == 1, result.stderr
    document = interrupted(json.dumps(result.document))
    assert [(e["kind"], e["label"]) for e in document["trace"]] == [("recv", "PrepareRequest")]  # type: ignore[index, union-attr]
    assert "Traceback" not in result.stderr
    assert finish(coordinator, 60).code == 1
