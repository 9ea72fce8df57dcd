"""A role written against the generated API runs over `aura-choreo run` (one process per role, TLS on
loopback) with a behaviour-driven peer in the other process; the merged traces check."""

from __future__ import annotations

import sys
from pathlib import Path

from codegen_fixtures import PROGRAMS, TPC

from aura_choreo.codegen import write
from aura_choreo.codegen.build import compile_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deployment"))  # the cluster helper
from deploy_cluster import assert_all_ok, check_merged_trace, make_cluster

ROLES = """
from pathlib import Path

import tpc_ok


async def coordinator(ep):
    result = await tpc_ok.coordinator(ep)
    Path("coordinator-result.txt").write_text(result)  # proof that the generated-API code ran
    return result


ROLES = {"Coordinator": coordinator}
"""


def test_a_generated_role_runs_over_the_network(tmp_path: Path) -> None:
    cluster = make_cluster(tmp_path, ("Coordinator", "Participant"))
    for package in compile_file(str(TPC)).packages:
        write(package, str(tmp_path))
    (tmp_path / "tpc_ok.py").write_text((PROGRAMS / "tpc_ok.py").read_text(encoding="utf-8"))
    (tmp_path / "codegen_roles.py").write_text(ROLES)
    results = cluster.run(
        TPC, extra={"Coordinator": ("--behaviours", "codegen_roles:ROLES"), "Participant": ("--seed", "1")}
    )
    assert_all_ok(results)
    labels = [event["label"] for event in results["Coordinator"].document["trace"]]  # type: ignore[union-attr]
    assert labels[:2] == ["PrepareRequest", "PrepareResponse"] and len(labels) == 4
    assert "trace ok" in check_merged_trace(TPC, results, tmp_path)
    assert (tmp_path / "coordinator-result.txt").read_text() in ("committed", "aborted")
