"""Checking worst-case budgets and manifests against limits (`--flow-limit`, `--policy FILE`).

Limits are plain data here; `aura_choreo.guards.policy_limits` derives them from the run-time policy
file (guards/ is a later stage than verify/ and may import it, not the other way round), so
`validate --policy` predicts what the guard chain will refuse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from aura_choreo.verify.budgets import OBSERVERS, Cost, RoleBudget, SendPrice
from aura_choreo.verify.findings import Finding, FindingKind

DEFAULT_FLOW_LIMIT = 1024
"""The flow budget of one (context, peer) per epoch when a policy configures none (SPEC §5.3); the guard
chain's default (`guards.flow` takes it from here, so `validate` and `run` cannot disagree on it)."""


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
    default_flow_limit: int | None = None
    """Where no limit is configured: a worst case certainly over this one is a warning (W109), since the
    guard chain of `run` or `simulate --policy` enforces it unless the policy says otherwise."""
    price: SendPrice | None = field(default=None, compare=False)
    """How the run time these limits come from prices a send (a policy's guard profiles, its message
    guards first: `guards.policy_limits.send_price`); None: by the annotations alone."""

    def for_role(self, role: str) -> RoleLimits:
        own = self.roles.get(role) or self.roles.get(role.partition("[")[0]) or RoleLimits()
        limits = [x for x in (own.flow_limit, self.flow_limit) if x is not None]
        return RoleLimits(
            min(limits) if limits else None, own.peer_flow_limits, own.leakage_limit, own.capabilities
        )

    def with_flow_limit(self, limit: int | None) -> BudgetLimits:
        return dataclasses.replace(self, flow_limit=limit if limit is not None else self.flow_limit)


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


def _over_default(cost: Cost, default: int, role: str, peer: str) -> Finding | None:
    value = cost.value
    if value is None or value <= default:
        return None  # an unbounded or symbolic cost says nothing certain about an unconfigured limit
    return Finding(
        FindingKind.OVER_DEFAULT_LIMIT,
        f"worst-case flow cost {role} -> {peer} is {value}, over the default limit {default} that the guard "
        f"chain enforces (`run`, `simulate --policy`) when the policy sets none: give the devices a "
        f"`flow_limit` in the policy, and check it with `validate --policy`",
        (role, peer),
    )


def check_limits(
    budgets: Mapping[str, RoleBudget], manifests: Mapping[str, tuple[str, ...]], limits: BudgetLimits
) -> list[Finding]:
    """Findings for every budget over (or not provably within) its limit, and missing capabilities."""
    findings: list[Finding] = []
    for role, budget in budgets.items():
        role_limits = limits.for_role(role)
        for peer, peer_budget in budget.peers.items():
            limit = role_limits.peer_flow_limits.get(peer, role_limits.flow_limit)
            if limit is None and limits.default_flow_limit is not None:
                found = _over_default(peer_budget.flow, limits.default_flow_limit, role, peer)
                if found:
                    findings.append(found)
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
            missing = sorted(set(manifests.get(role, ())) - role_limits.capabilities)
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
