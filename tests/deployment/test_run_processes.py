"""`aura-choreo run` as one real process per role on loopback: 2, 3 and 1+4 processes, traces checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from deploy_cluster import assert_all_ok, check_merged_trace, make_cluster, on_broker

from aura_choreo.protocol import load
from aura_choreo.transports.nats_server import NatsServer
from aura_choreo.verify import role_manifest
from conftest import SHARED, require_quic

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LITERATURE = SHARED / "corpus" / "literature"

CASES = [
    pytest.param(EXAMPLES / "two_phase_commit.choreo", (), id="two-phase-commit-2-processes"),
    pytest.param(LITERATURE / "payment_channel.choreo", (), id="3-roles-3-processes"),
    pytest.param(LITERATURE / "three_phase_commit.choreo", ("N=4",), id="family-1+4-processes"),
]


@pytest.mark.parametrize(("file", "params"), CASES)
def test_every_role_in_its_own_process_completes_and_the_traces_check(
    file: Path, params: tuple[str, ...], tmp_path: Path
) -> None:
    protocol = load(file, params={k: int(v) for k, v in (p.split("=") for p in params)})
    held = {role: sorted(role_manifest(lt)) for role, lt in protocol.local_types().items()}
    cluster = make_cluster(tmp_path, protocol.roles, capabilities=held)
    extra = [a for p in params for a in ("--param", p)]
    results = cluster.run(file, extra={role: extra for role in protocol.roles})
    assert_all_ok(results)
    for role, result in results.items():
        assert result.document["ok"] is True
        assert result.document["role"] == role
    sessions = {r.document["session"] for r in results.values()}
    hashes = {r.document["protocol_hash"] for r in results.values()}
    assert len(sessions) == 1 and len(hashes) == 1
    assert "trace ok" in check_merged_trace(file, results, tmp_path, *params)


@pytest.mark.parametrize(
    ("file", "schemes"),
    [
        pytest.param(
            EXAMPLES / "two_phase_commit.choreo", {"Coordinator": "ws", "Participant": "ws"}, id="ws"
        ),
        pytest.param(
            EXAMPLES / "two_phase_commit.choreo", {"Coordinator": "quic", "Participant": "quic"}, id="quic"
        ),
        pytest.param(LITERATURE / "payment_channel.choreo", {"Alice": "ws"}, id="ws-and-tcp-in-one-session"),
        pytest.param(
            LITERATURE / "payment_channel.choreo",
            {"Alice": "quic", "Bob": "ws"},
            id="quic-ws-and-tcp-in-one-session",
        ),
    ],
)
def test_the_carrier_is_chosen_by_the_address_scheme_alone(
    file: Path, schemes: dict[str, str], tmp_path: Path
) -> None:
    if "quic" in schemes.values():
        require_quic()
    protocol = load(file)
    held = {role: sorted(role_manifest(lt)) for role, lt in protocol.local_types().items()}
    cluster = make_cluster(tmp_path, protocol.roles, capabilities=held, schemes=schemes)
    results = cluster.run(file)
    assert_all_ok(results)
    assert "trace ok" in check_merged_trace(file, results, tmp_path)


@pytest.mark.slow  # about 3 minutes on 2 cores: nine clusters of 2 to 5 processes
@pytest.mark.parametrize("scheme", ["ws", "quic", "nats"])
@pytest.mark.parametrize(("file", "params"), CASES)
def test_every_case_runs_on_every_carrier(
    file: Path, params: tuple[str, ...], scheme: str, tmp_path: Path, nats_server: NatsServer
) -> None:
    """The cases above (tcp:// by default) with every device's address on another carrier."""
    if scheme == "quic":
        require_quic()
    protocol = load(file, params={k: int(v) for k, v in (p.split("=") for p in params)})
    held = {role: sorted(role_manifest(lt)) for role, lt in protocol.local_types().items()}
    schemes = None if scheme == "nats" else dict.fromkeys(protocol.roles, scheme)
    cluster = make_cluster(tmp_path, protocol.roles, capabilities=held, schemes=schemes)
    if scheme == "nats":
        on_broker(cluster, nats_server.url)
    extra = [a for p in params for a in ("--param", p)]
    results = cluster.run(file, extra={role: extra for role in protocol.roles})
    assert_all_ok(results)
    assert "trace ok" in check_merged_trace(file, results, tmp_path, *params)
