"""Refuse a deployed session that every run must fail on a flow budget, before anything is sent.

A device missing a capability of its role's manifest is refused when the session starts (SPEC §5.2).
A flow budget that every run of the session exceeds is refused at the same point for the same reason:
the session is certain to fail at a send the protocol cannot handle (§5.3), and until then its
peers send, then sit out their timeouts. Every process of a session reads the same protocol and
policy, so each refuses with the same `BudgetExhausted` (naming the role that would overspend, the
peer and the numbers) and no process sends or connects.

Only a certain failure is refused. The cost counted is the floor of `verify.budget_floor` (the
cheapest branch of every choice, nothing inside a saga), each send priced as `validate --policy`
prices it (`guards.policy_limits.send_price`: the guard chain's profiles, a policy's message guards
first), against the limits `validate --policy` checks (E104). A policy
whose epochs rotate on a clock (`epoch_seconds`) may reset a budget mid-session, so it refuses
nothing. A budget that only some runs exceed is left to the guard chain at the send.
"""

from __future__ import annotations

from aura_choreo.deployment.plan import Deployment
from aura_choreo.errors import BudgetExhausted
from aura_choreo.guards.extension import GuardExtension
from aura_choreo.guards.policy_limits import limits_from_policy, send_price
from aura_choreo.projection.local_types import Send
from aura_choreo.verify.budget_floor import least_flow


def refuse_certain_overspend(deployment: Deployment, guards: GuardExtension) -> None:
    """Raise `BudgetExhausted` (step "session start") if some role of the session must exceed the
    flow limit towards some peer device on every run; otherwise do nothing."""
    policy = deployment.policy
    if policy.epoch_seconds is not None:
        return
    price = send_price(guards.chain.profiles)

    def cost_of(send: Send) -> int:
        return price(send).flow

    protocol = deployment.protocol
    limits = limits_from_policy(policy, protocol.roles)
    for role, local_type in protocol.local_types().items():
        role_limits = limits.for_role(role)
        # The guard chain keys a budget by the peer's device: sends to roles on one device add up.
        spent: dict[str, int] = {}
        limit: dict[str, int] = {}
        for peer, cost in least_flow(local_type, cost_of).items():
            device = deployment.devices[peer]
            spent[device] = spent.get(device, 0) + cost
            peer_limit = role_limits.peer_flow_limits.get(peer, role_limits.flow_limit)
            if peer_limit is not None:
                limit[device] = max(limit.get(device, peer_limit), peer_limit)
        for device, cost in spent.items():
            if device in limit and cost > limit[device]:
                raise BudgetExhausted(
                    f"session refused before any message: every run of {protocol.qualified_name} has "
                    f"{role} spend at least {cost} of its flow budget towards device {device}, over "
                    f"the limit {limit[device]}; raise `flow_limit` (or `peer_flow_limits`) of device "
                    f"{deployment.devices[role]} in the policy, or lower those sends' `flow_cost`",
                    role=role,
                    session=deployment.session,
                    step="session start",
                )
