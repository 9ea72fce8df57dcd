"""Production execution (SPEC §5.6): one process per role over authenticated tcp/ws/quic or nats.

`plan_deployment` checks a policy (the deployment file), a device key and a role against a protocol;
`run_deployed_role` connects to the role's peers and runs it with the full runtime; `device_network`
shares one device's transport between the sessions a process runs.
"""

from aura_choreo.deployment.plan import (
    Deployment,
    DeploymentError,
    default_session_id,
    plan_deployment,
)
from aura_choreo.deployment.run import (
    DeviceNetwork,
    RunInterrupted,
    RunOutcome,
    build_session,
    device_network,
    guard_extension_for,
    run_deployed_role,
)
from aura_choreo.protocol_value import protocol_hash
from aura_choreo.transports.net.identity import Identity, load_identity, write_key_file

__all__ = [
    "Deployment",
    "DeploymentError",
    "DeviceNetwork",
    "Identity",
    "RunInterrupted",
    "RunOutcome",
    "build_session",
    "default_session_id",
    "device_network",
    "guard_extension_for",
    "load_identity",
    "plan_deployment",
    "protocol_hash",
    "run_deployed_role",
    "write_key_file",
]
