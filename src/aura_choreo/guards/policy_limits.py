"""What a run-time policy's limits mean for a protocol's worst-case budgets (`validate --policy`).

Each role runs on a device (`[roles]`, else a device named after the role) whose `flow_limit`,
`peer_flow_limits`, `leakage_limits` and `capabilities` apply; devices not listed get the policy's
defaults and hold no capabilities; each send is priced by the chain's profile for it (`send_price`:
a message guard of the policy first). So `validate --policy` predicts what the guard chain will refuse.
"""

from __future__ import annotations

from collections.abc import Collection

from aura_choreo.guards.policy import Policy
from aura_choreo.guards.profile import GuardProfiles
from aura_choreo.projection.local_types import Send
from aura_choreo.verify.budgets import SendCost, SendPrice
from aura_choreo.verify.limits import BudgetLimits, RoleLimits


def send_price(profiles: GuardProfiles) -> SendPrice:
    """What the guard chain guarding with `profiles` charges for a send: the one price of a send under
    a policy, for `validate --policy`'s budgets (E104) and `run`'s refusal of a session every run of
    which overspends (`deployment.preflight`), as the chain itself charges it (`profile_for`)."""

    def price(send: Send) -> SendCost:
        profile = profiles.profile_for(send.label, send.annotations)
        leakage = profile.leakage
        leaks = (leakage.external, leakage.neighbor, leakage.group)
        return SendCost(profile.flow_cost, leaks, profile.capabilities)

    return price


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
    return BudgetLimits(flow_limit, per_role, price=send_price(policy.guard_profiles()))
