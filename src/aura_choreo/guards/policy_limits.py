"""What a run-time policy's limits mean for a protocol's worst-case budgets (`validate --policy`).

Each role runs on a device (`[roles]`, else a device named after the role) whose `flow_limit`,
`peer_flow_limits`, `leakage_limits` and `capabilities` apply; devices not listed get the policy's
defaults and hold no capabilities. So `validate --policy` predicts what the guard chain will refuse.
"""

from __future__ import annotations

from collections.abc import Collection

from aura_choreo.guards.policy import Policy
from aura_choreo.verify.limits import BudgetLimits, RoleLimits


def limits_from_policy(policy: Policy, roles: Collection[str], flow_limit: int | None = None) -> BudgetLimits:
    """The limits a run-time policy puts on each role of a protocol."""
    per_role = {}
    for role in roles:
        device = policy.device_policy(policy.device_of(role))
        peers = {}
        for peer_role in roles:
            peer_device = policy.device_of(peer_role)
            for key in (peer_role, peer_device):
                if key in device.peer_flow_limits:
                    peers[peer_role] = device.peer_flow_limits[key]
                    break
        leak = device.leakage_limits
        per_role[role] = RoleLimits(
            device.flow_limit, peers, (leak.external, leak.neighbor, leak.group), device.capabilities
        )
    return BudgetLimits(flow_limit, per_role)
