"""Faults across real processes: a connection closed mid-session, a role process SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from deploy_cluster import assert_all_ok, check_merged_trace, finish, make_cluster

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TPC = EXAMPLES / "two_phase_commit.choreo"
ROLES = ("Coordinator", "Participant")


def test_a_connection_closed_mid_session_is_reestablished_with_no_loss_or_duplicate(tmp_path: Path) -> None:
    cluster = make_cluster(tmp_path, ROLES)
    # The coordinator's transport aborts its connection right after writing its first data frame
    # (the frame is most likely lost with it): the dialer reconnects, the session layer retransmits.
    results = cluster.run(TPC, extra={"Coordinator": ["--fault-drop-after", "1"]})
    assert_all_ok(results)
    connections = [r.document["network"]["connections"] for r in results.values()]  # type: ignore[index]
    assert max(connections) >= 2  # the connection was re-established
    check_merged_trace(TPC, results, tmp_path)  # nothing lost, nothing delivered twice


def test_a_killed_peer_becomes_a_peer_timeout_naming_it(tmp_path: Path) -> None:
    cluster = make_cluster(tmp_path, ROLES)
    marker = tmp_path / "marker"
    behaviours = f"{Path(__file__).parent / 'stalling_behaviours.py'}:StallingParticipant"
    os.environ["AURA_TEST_MARKER"] = str(marker)
    try:
        participant = cluster.start(TPC, "Participant", "--behaviours", behaviours, "--timeout", "3")
        coordinator = cluster.start(TPC, "Coordinator", "--timeout", "3")
    finally:
        del os.environ["AURA_TEST_MARKER"]
    deadline = time.monotonic() + 60
    while not marker.exists() and participant.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), finish(participant, 5).stderr
    participant.send_signal(signal.SIGKILL)
    participant.wait()
    result = finish(coordinator, 60)
    assert result.code == 1, result.stderr
    error = result.document["error"]
    assert error["error"] == "PeerTimeout"  # type: ignore[index]
    assert "Participant" in error["message"]  # type: ignore[index]
    assert "Traceback" not in result.stderr
    assert isinstance(participant, subprocess.Popen)
