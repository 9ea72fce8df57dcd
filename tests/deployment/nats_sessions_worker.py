"""One process running one role of many sessions over nats:// at once (helper of test_run_nats.py).

    python nats_sessions_worker.py FILE POLICY KEY ROLE SESSION...

Prints one JSON line: the `run --json` document of every session, in the order given. Every session
shares the process's one connection to the server (`device_network`).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from aura_choreo.deployment import device_network, plan_deployment, run_deployed_role
from aura_choreo.guards import load_policy
from aura_choreo.protocol import load
from aura_choreo.transports.net.identity import load_identity


async def main(file: str, policy_file: str, key_file: str, role: str, sessions: list[str]) -> None:
    protocol = load(file)
    policy = load_policy(policy_file)
    identity = load_identity(key_file, device=policy.device_of(role))
    text = Path(policy_file).read_bytes()
    deployments = [
        plan_deployment(protocol, policy, identity, role, session=s, policy_text=text) for s in sessions
    ]
    async with device_network(deployments[0]) as network:  # one server connection for every session
        outcomes = await asyncio.gather(
            *(
                run_deployed_role(d, seed=i, connect_timeout=30, peer_timeout=30, network=network)
                for i, d in enumerate(deployments)
            )
        )
    print(json.dumps([o.to_json() for o in outcomes]))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]))
