"""`aura-choreo run` over nats://: one process per role, every device's address the one NATS server.

The deployment differs from the tcp:// one only in the policy's addresses (the carrier is chosen by the
scheme alone); the traces of all processes, merged, pass check-trace.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from deploy_cluster import assert_all_ok, check_merged_trace, finish, make_cluster, on_broker

from aura_choreo.cli.main import cli
from aura_choreo.deployment import device_network, load_identity, plan_deployment, run_deployed_role
from aura_choreo.deployment.traces import events_of_run_document, merge_role_traces
from aura_choreo.guards import load_policy
from aura_choreo.protocol import load
from aura_choreo.runtime.trace import Trace
from aura_choreo.transports.nats_server import NatsServer
from aura_choreo.verify import role_manifest
from conftest import SHARED

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TPC = EXAMPLES / "two_phase_commit.choreo"
LITERATURE = SHARED / "corpus" / "literature"
WORKER = Path(__file__).resolve().parent / "nats_sessions_worker.py"


def test_two_phase_commit_in_two_processes_over_nats(tmp_path: Path, nats_server: NatsServer) -> None:
    protocol = load(TPC)
    held = {role: sorted(role_manifest(lt)) for role, lt in protocol.local_types().items()}
    cluster = make_cluster(tmp_path, protocol.roles, capabilities=held)
    on_broker(cluster, nats_server.url)
    results = cluster.run(TPC)
    assert_all_ok(results)
    for role, result in results.items():
        assert result.document["ok"] is True and result.document["role"] == role
    assert "trace ok" in check_merged_trace(TPC, results, tmp_path)


@pytest.mark.parametrize("scheme", ["nats", "tcp"])
async def test_the_sessions_of_one_process_share_its_device_network(
    scheme: str, tmp_path: Path, nats_server: NatsServer
) -> None:
    """Five sessions per device in one process: one server connection (nats) or one connection
    between the two devices (tcp), all sessions complete and their traces check."""
    protocol = load(TPC)
    held = {role: sorted(role_manifest(lt)) for role, lt in protocol.local_types().items()}
    cluster = make_cluster(tmp_path, protocol.roles, capabilities=held)
    if scheme == "nats":
        on_broker(cluster, nats_server.url)
    policy = load_policy(cluster.policy)
    text = cluster.policy.read_bytes()
    plans = {
        role: [
            plan_deployment(
                protocol,
                policy,
                load_identity(cluster.keys[role], device=policy.device_of(role)),
                role,
                session=f"shared-{i}",
                policy_text=text,
            )
            for i in range(5)
        ]
        for role in protocol.roles
    }
    async with (
        device_network(plans["Coordinator"][0]) as coordinator,
        device_network(plans["Participant"][0]) as participant,
    ):
        networks = {"Coordinator": coordinator, "Participant": participant}
        outcomes = await asyncio.gather(
            *(
                run_deployed_role(d, seed=i, connect_timeout=20, peer_timeout=20, network=networks[role])
                for role, deployments in plans.items()
                for i, d in enumerate(deployments)
            )
        )
        connections = [n.transport.connections_made for n in networks.values()]
    assert all(o.ok for o in outcomes), [o.to_json().get("error") for o in outcomes]
    # nats: each device's one server connection; tcp: the one connection between the two devices,
    # counted on both ends (not one per session)
    assert connections == [1, 1]
    merged = merge_role_traces(events_of_run_document(o.to_json()) for o in outcomes)
    trace_file = tmp_path / "merged.jsonl"
    trace_file.write_text(Trace(merged).to_jsonl(), encoding="utf-8")
    outcome = CliRunner().invoke(cli, ["check-trace", str(TPC), str(trace_file)])
    assert outcome.exit_code == 0, outcome.output
    assert "trace ok" in outcome.output and "5 sessions" in outcome.output


@pytest.mark.parametrize(
    ("file", "on_nats"),
    [
        pytest.param(TPC, ("Coordinator",), id="coordinator-on-nats-participant-on-tcp"),
        pytest.param(LITERATURE / "payment_channel.choreo", ("Alice", "Bob"), id="two-on-nats-one-on-tcp"),
    ],
)
def test_a_session_may_mix_nats_with_point_to_point_carriers(
    file: Path, on_nats: tuple[str, ...], tmp_path: Path, nats_server: NatsServer
) -> None:
    """Devices on the broker talk through it; any pair with a device off it connects point to point
    (the device on the broker dials). Chosen by the policy's addresses alone."""
    protocol = load(file)
    held = {role: sorted(role_manifest(lt)) for role, lt in protocol.local_types().items()}
    cluster = make_cluster(tmp_path, protocol.roles, capabilities=held)
    on_broker(cluster, nats_server.url, roles=on_nats)
    results = cluster.run(file)
    assert_all_ok(results)
    assert "trace ok" in check_merged_trace(file, results, tmp_path)


def test_a_pair_that_can_meet_neither_on_the_broker_nor_point_to_point_is_a_usage_error(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    protocol = load(TPC)
    cluster = make_cluster(tmp_path, protocol.roles)
    on_broker(cluster, nats_server.url, roles=("Coordinator",))
    lines = cluster.policy.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith('address = "tcp://')]  # the participant's
    cluster.policy.write_text("\n".join(kept) + "\n", encoding="utf-8")
    outcome = CliRunner().invoke(cli, cluster.command(TPC, "Coordinator")[3:])
    assert outcome.exit_code == 2, outcome.output
    assert "neither has a point-to-point address" in outcome.output


@pytest.mark.slow  # about 30 s: four interpreters start, 200 role runs
@pytest.mark.parametrize("count", [100])
def test_many_concurrent_sessions_across_four_processes_share_one_server(
    count: int, tmp_path: Path, nats_server: NatsServer
) -> None:
    """`count` two-phase commits at once: coordinators split over two processes, participants over two
    others (by parity, so each process talks to both of the other side); all complete, nothing mixed."""
    protocol = load(TPC)
    held = {role: sorted(role_manifest(lt)) for role, lt in protocol.local_types().items()}
    cluster = make_cluster(tmp_path, protocol.roles, capabilities=held)
    on_broker(cluster, nats_server.url)
    ids = [f"many-{i}" for i in range(count)]
    groups = [
        ("Coordinator", ids[: count // 2]),
        ("Coordinator", ids[count // 2 :]),
        ("Participant", ids[0::2]),
        ("Participant", ids[1::2]),
    ]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                str(TPC),
                str(cluster.policy),
                str(cluster.keys[role]),
                role,
                *sessions,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for role, sessions in groups
    ]
    documents: list[dict[str, object]] = []
    for (role, sessions), process in zip(groups, processes, strict=True):
        result = finish(process, 120)
        assert result.code == 0, result.stderr
        batch = result.document
        assert isinstance(batch, list), result.stderr
        assert [d["session"] for d in batch] == sessions and all(d["role"] == role for d in batch)
        failed = [d for d in batch if d["ok"] is not True]
        assert not failed, failed[:3]
        documents += batch
    assert len(documents) == 2 * count
    merged = merge_role_traces(events_of_run_document(d) for d in documents)
    trace_file = tmp_path / "merged.jsonl"
    trace_file.write_text(Trace(merged).to_jsonl(), encoding="utf-8")
    outcome = CliRunner().invoke(cli, ["check-trace", str(TPC), str(trace_file)])
    assert outcome.exit_code == 0, outcome.output
    assert sorted(d["session"] for d in documents if d["role"] == "Participant") == sorted(ids)
