"""`aura-choreo run` restarted mid-session, across real processes (see test_hunt8_restarted_peer.py).

Before the fix both processes exited 0 with `ok: true` although the restarted coordinator's
PrepareRequest never reached the participant (dropped there as a duplicate of the dead process's).
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deployment"))
from deploy_cluster import finish, make_cluster, on_broker

from aura_choreo.transports.nats_server import NatsServer

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"
BEHAVIOURS = f"{Path(__file__).parent / 'hunt8_behaviours.py'}:SlowParticipant"


@pytest.mark.slow  # about 12 s each: three interpreters, a peer timeout
@pytest.mark.parametrize("carrier", ["tcp", "nats"])
@pytest.mark.parametrize("restarted", ["Coordinator", "Participant"])
def test_a_role_restarted_mid_session_is_refused_and_nobody_reports_success(
    restarted: str,
    carrier: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    cluster = make_cluster(tmp_path, ("Coordinator", "Participant"))
    if carrier == "nats":
        server: NatsServer = request.getfixturevalue("nats_server")
        on_broker(cluster, server.url)
    marker = tmp_path / "marker"
    monkeypatch.setenv("AURA_TEST_MARKER", str(marker))
    behaviours = {"Participant": ["--behaviours", BEHAVIOURS], "Coordinator": []}
    processes = {role: cluster.start(TPC, role, *behaviours[role], "--timeout", "6") for role in behaviours}
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), finish(processes["Participant"], 5).stderr
    # The participant's delayed ack of the request goes out meanwhile: both processes have now spoken
    # (a process killed before it sent anything may be replaced cleanly, and that is another test's).
    time.sleep(1.0)
    processes[restarted].send_signal(signal.SIGKILL)
    processes[restarted].wait()
    monkeypatch.setenv("AURA_TEST_PAUSE", "0")
    again = cluster.start(TPC, restarted, *behaviours[restarted], "--timeout", "6")
    survivor = next(role for role in processes if role != restarted)
    kept, new = finish(processes[survivor], 60), finish(again, 60)
    for result in (kept, new):
        assert result.code == 1, result.stderr
        assert "Traceback" not in result.stderr
    assert new.document["error"]["error"] == "HandshakeRefused"  # type: ignore[index]
    assert "restarted mid-session" in new.document["error"]["message"]  # type: ignore[index]
    assert kept.document["error"]["error"] == "PeerTimeout"  # type: ignore[index]
    assert any("restarted mid-session" in r for r in kept.document["network"]["refusals"])  # type: ignore[index]
