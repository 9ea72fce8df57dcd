"""A clean cross-process run that reported an attack, found by hunt5 (fixed by fix5)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aura_choreo.deployment import device_network, load_identity, plan_deployment, run_deployed_role
from aura_choreo.guards import load_policy
from aura_choreo.protocol import load
from aura_choreo.verify import role_manifest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deployment"))
from deploy_cluster import make_cluster  # the deployment tests' helper (not a package)

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"


# Found reading the stderr of `run` in every cross-process campaign: each clean run of the two-phase
# commit over tcp://, ws:// or quic:// ends with one role (exit 0, trace ok) printing
# "dev-participant: dropped 1 frame(s) from dev-coordinator: a session or role it has not joined",
# the line meant for forged or misrouted frames (`transports/carrier.py`, `_deliver`). The peer's
# last frame (its final acknowledgement) arrives after this side has closed the session
# (`close_session` forgets the binding), so a frame of a session both joined is counted as forged.
async def test_a_clean_run_over_tcp_reports_no_refusal(tmp_path: Path) -> None:
    protocol = load(TPC)
    held = {role: sorted(role_manifest(lt)) for role, lt in protocol.local_types().items()}
    cluster = make_cluster(tmp_path, protocol.roles, capabilities=held)
    policy = load_policy(cluster.policy)
    plans = {
        role: plan_deployment(
            protocol,
            policy,
            load_identity(cluster.keys[role], device=policy.device_of(role)),
            role,
            session="clean",
            policy_text=cluster.policy.read_bytes(),
        )
        for role in protocol.roles
    }
    async with (
        device_network(plans["Coordinator"]) as coordinator,
        device_network(plans["Participant"]) as participant,
    ):
        networks = {"Coordinator": coordinator, "Participant": participant}
        outcomes = await asyncio.gather(
            *(
                run_deployed_role(plan, seed=0, connect_timeout=20, peer_timeout=20, network=networks[role])
                for role, plan in plans.items()
            )
        )
        await asyncio.sleep(0.5)  # the last acknowledgements are on their way
        refusals = {role: list(n.transport.refusals) for role, n in networks.items()}
    assert all(o.ok for o in outcomes), [o.to_json().get("error") for o in outcomes]
    assert refusals == {"Coordinator": [], "Participant": []}
