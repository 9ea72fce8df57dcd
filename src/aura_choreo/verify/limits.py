"""Checking worst-case budgets and manifests against limits (`--flow-limit`, `--policy FILE`).

The policy file is the run-time one (`aura_choreo.guards.policy`, TOML or JSON): each role runs on a
device (`[roles]`, else a device named after the role) whose `flow_limit`, `peer_flow_limits`,
`leakage_limits` and `capabilities` apply; devices not listed get the policy's defaults and hold no
capabilities. So `validate --policy` predicts what the guard chain will refuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aura_choreo.verify.budgets import OBSERVERS, Cost, RoleBudget
from aura_choreo.verify.findings import Finding, FindingKind

if TYPE_CHECKING:
    from aura_choreo.guards.policy import Policy


@dataclass(frozen=True)
class RoleLimits:
    """Limits for one role; None means "not limited"."""

    flow_limit: int | None = None
    peer_flow_limits: Mapping[str, int] = field(default_factory=dict)
    leakage_limit: tuple[int, int, int] | None = None
    capabilities: frozenset[str] | None = None


@dataclass(frozen=True)
class BudgetLimits:
    """A flow limit for every (role, peer) pair plus per-role limits (the tighter one wins)."""

    flow_limit: int | None = None
    roles: Mapping[str, RoleLimits] = field(default_factory=dict)

    def for_role(self, role: str) -> RoleLimits:
        own = self.roles.get(role) or self.roles.get(role.partition("[")[0]) or RoleLimits()
        limits = [x for x in (own.flow_limit, self.flow_limit) if x is not None]
        return RoleLimits(
            min(limits) if limits else None, own.peer_flow_limits, own.leakage_limit, own.capabilities
        )

    def with_flow_limit(self, limit: int | None) -> BudgetLimits:
        return BudgetLimits(limit if limit is not None else self.flow_limit, self.roles)


def limits_from_policy(policy: Policy, roles: Iterable[str], flow_limit: int | None = None) -> BudgetLimits:
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


def load_limits(path: str, roles: Iterable[str], flow_limit: int | None = None) -> BudgetLimits:
    """Read a policy file (raises the guards' `PolicyError` naming what is wrong)."""
    from aura_choreo.guards.policy import load_policy

    return limits_from_policy(load_policy(path), list(roles), flow_limit)


def _compare(cost: Cost, limit: int, what: str, roles: tuple[str, ...]) -> Finding | None:
    value = cost.value
    if value is None:
        return Finding(
            FindingKind.BUDGET_UNPROVEN,
            f"{what} is {cost.text()}, so the limit {limit} cannot be proven for every session",
            roles,
        )
    if value > limit:
        return Finding(FindingKind.BUDGET_EXCEEDED, f"{what} is {value}, over the limit {limit}", roles)
    return None


def check_limits(
    budgets: Mapping[str, RoleBudget], manifests: Mapping[str, frozenset[str]], limits: BudgetLimits
) -> list[Finding]:
    """Findings for every budget over (or not provably within) its limit, and missing capabilities."""
    findings: list[Finding] = []
    for role, budget in budgets.items():
        role_limits = limits.for_role(role)
        for peer, peer_budget in budget.peers.items():
            limit = role_limits.peer_flow_limits.get(peer, role_limits.flow_limit)
            if limit is not None and not peer_budget.flow.is_zero:
                found = _compare(
                    peer_budget.flow, limit, f"worst-case flow cost {role} -> {peer}", (role, peer)
                )
                if found:
                    findings.append(found)
        if role_limits.leakage_limit is not None:
            total = budget.total.leakage
            for observer, cost, limit in zip(OBSERVERS, total, role_limits.leakage_limit, strict=True):
                if cost.is_zero:
                    continue
                found = _compare(cost, limit, f"worst-case {observer} leakage of {role}", (role,))
                if found:
                    findings.append(found)
        if role_limits.capabilities is not None:
            missing = sorted(manifests.get(role, frozenset()) - role_limits.capabilities)
            if missing:
                findings.append(
                    Finding(
                        FindingKind.BUDGET_EXCEEDED,
                        f"{role} needs capabilit{'y' if len(missing) == 1 else 'ies'} "
                        f"{', '.join(f'`{c}`' for c in missing)} that the policy does not grant its device",
                        (role,),
                    )
                )
    return findings
