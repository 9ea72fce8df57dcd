"""A session id too long for a NATS subject failed as a misleading PeerTimeout, found by hunt8.

`run --session <5000 characters>` on nats:// waited the whole --connect-timeout and ended with
"PeerTimeout: the NATS server did not confirm the subscriptions ... (ConnectionClosedError)": the
server closes a client whose SUB or PUB line is over its `max_control_line` (4096 bytes by default),
which also ends every other session sharing that connection. Fixed in transports/net/signed.py
(`subject_too_long`), deployment/plan.py (a usage error, exit 2, before anything connects) and
transports/nats_broker.py (`open_session` refuses such a session without subscribing).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aura_choreo.cli.main import main
from aura_choreo.errors import TransportError
from aura_choreo.transports.nats_broker import NatsTransport
from aura_choreo.transports.nats_server import NatsServer
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity, write_key_file
from aura_choreo.transports.net.signed import MAX_SUBJECT, subject_for
from conftest import require_nats

TPC = str(Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo")
LONG = "z" * 5000


def policy_on(folder: Path, url: str) -> tuple[Path, Path]:
    key, coordinator = write_key_file("coord", folder)
    _, participant = write_key_file("part", folder)
    policy = folder / "policy.toml"
    policy.write_text(
        '[roles]\nCoordinator = "coord"\nParticipant = "part"\n'
        f'[devices.coord]\npublic_key = "{coordinator}"\naddress = "{url}"\n'
        f'[devices.part]\npublic_key = "{participant}"\naddress = "{url}"\n',
        encoding="utf-8",
    )
    return policy, key


@pytest.mark.parametrize("session", [LONG, "€" * 450])  # "€" is 3 bytes, each escaped as ~XX
def test_run_refuses_a_session_id_no_nats_subject_can_carry_as_a_usage_error(
    session: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy, key = policy_on(tmp_path, "nats://127.0.0.1:9")  # refused before anything connects
    args = ["run", TPC, "--role", "Coordinator", "--policy", str(policy), "--key", str(key)]
    with pytest.raises(SystemExit) as ended:
        main([*args, "--session", session, "--json", "--connect-timeout", "30"])
    captured = capsys.readouterr()
    assert ended.value.code == 2
    error = json.loads(captured.out)["error"]
    assert error["error"] == "UsageError"
    assert "--session" in error["message"] and str(MAX_SUBJECT) in error["message"]
    assert "Traceback" not in captured.err


def test_a_long_session_id_is_still_fine_point_to_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the broker limits it: on tcp:// the same id gets past planning (and fails to connect here)."""
    policy, key = policy_on(tmp_path, "tcp://127.0.0.1:9")
    args = ["run", TPC, "--role", "Coordinator", "--policy", str(policy), "--key", str(key)]
    with pytest.raises(SystemExit) as ended:
        main([*args, "--session", LONG, "--json", "--connect-timeout", "0.5"])
    assert ended.value.code == 1  # a run failure (nobody to connect to), not a usage error
    assert json.loads(capsys.readouterr().out)["error"]["error"] != "UsageError"


async def test_the_nats_transport_refuses_such_a_session_without_losing_its_connection(
    nats_server: NatsServer,
) -> None:
    require_nats()
    alice = Identity.generate("alice")
    binding = SessionBinding("h", LONG, {"A": "alice", "B": "alice"})
    assert len(subject_for("h", LONG, "A")) > MAX_SUBJECT
    async with NatsTransport(alice, {}, server=nats_server.url) as transport:
        with pytest.raises(TransportError, match="--session"):
            await transport.open_session(binding, timeout=5)
        await transport.open_session(SessionBinding("h", "short", {"A": "alice", "B": "alice"}), timeout=5)
