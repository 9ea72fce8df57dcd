"""`aura-choreo run` over nats://: one process per role, every device's address the one NATS server.

The deployment differs from the tcp:// one only in the policy's addresses (the carrier is chosen by the
scheme alone); the traces of all processes, merged, pass check-trace.
"""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from deploy_cluster import Cluster, assert_all_ok, check_merged_trace, make_cluster

from aura_choreo.cli.main import cli
from aura_choreo.protocol import load
from aura_choreo.transports.nats_server import NatsServer
from aura_choreo.verify import role_manifest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TPC = EXAMPLES / "two_phase_commit.choreo"


def on_broker(cluster: Cluster, url: str, roles: tuple[str, ...] | None = None) -> None:
    """Edit the policy's addresses only: every device (or those of `roles`) on the NATS server `url`."""
    text = cluster.policy.read_text(encoding="utf-8")
    lines = text.splitlines()
    device = None
    for i, line in enumerate(lines):
        header = re.match(r'\[devices\."(.+)"\]', line)
        if header:
            device = header.group(1)
        wanted = roles is None or any(device == f"dev-{r.lower()}" for r in roles)
        if line.startswith("address = ") and wanted:
            lines[i] = f'address = "{url}"'
    cluster.policy.write_text("\n".join(lines) + "\n", encoding="utf-8")


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


def test_nats_mixed_with_point_to_point_is_a_usage_error_naming_the_fix(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    protocol = load(TPC)
    cluster = make_cluster(tmp_path, protocol.roles)
    on_broker(cluster, nats_server.url, roles=("Coordinator",))
    outcome = CliRunner().invoke(cli, cluster.command(TPC, "Coordinator")[3:])
    assert outcome.exit_code == 2, outcome.output
    assert "nats:// cannot be mixed" in outcome.output
