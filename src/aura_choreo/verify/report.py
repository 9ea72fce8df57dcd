"""`verify_protocol`: machines, model check, reachability, budgets and manifests in one report."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from aura_choreo.diagnostics import UNKNOWN_SPAN, Diagnostic, Span
from aura_choreo.projection.local_types import LocalType
from aura_choreo.verify.budgets import RoleBudget, price_by_annotations, role_budget, role_manifest
from aura_choreo.verify.compile import COLLECT_FROM, compile_machine
from aura_choreo.verify.explore import ExplorationResult, explore
from aura_choreo.verify.findings import Finding, FindingKind
from aura_choreo.verify.fsm import Action, Machine
from aura_choreo.verify.limits import BudgetLimits, check_limits
from aura_choreo.verify.trace import TraceStep

MODEL_CHECK_ERRORS = frozenset(
    {
        FindingKind.DEADLOCK,
        FindingKind.UNSPECIFIED_RECEPTION,
        FindingKind.ORPHAN_MESSAGE,
        FindingKind.CANNOT_REACH_END,
    }
)


@dataclass(frozen=True)
class VerificationReport:
    """The verdict on one protocol.

    `deadlock_free` is true when the exploration finished and found no deadlock, unspecified reception,
    orphan message or role that cannot reach its end (SPEC §3.5), and no run got stuck on a full
    channel (then the bound, not the protocol, decided the outcome: W106).
    """

    protocol: str
    roles: tuple[str, ...]
    deadlock_free: bool
    states: int
    transitions: int
    findings: tuple[Finding, ...]
    budgets: Mapping[str, RoleBudget]
    manifests: Mapping[str, tuple[str, ...]]
    complete: bool
    bound: int
    por: bool
    bound_reached: bool
    seconds: float
    explore_seconds: float = 0.0
    """Wall-clock time of the state-space search alone (`seconds` also counts compiling and budgets)."""
    peak_rss_bytes: int = 0
    """The process's peak resident memory after the search (process-wide, so it includes earlier work)."""
    symmetric_families: tuple[str, ...] = ()
    """The families whose instances the search treated as interchangeable (`verify/symmetry.py`)."""
    machines: Mapping[str, Machine] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """No error finding (model check, budgets, capabilities)."""
        return not any(f.is_error for f in self.findings)

    def of_kind(self, kind: FindingKind) -> list[Finding]:
        return [f for f in self.findings if f.kind is kind]

    def diagnostics(self, span: Span) -> list[Diagnostic]:
        """The findings as diagnostics; findings without a source position point at `span`."""
        return [f.to_diagnostic(span) for f in self.findings]

    def to_json(self) -> dict[str, object]:
        return {
            "protocol": self.protocol,
            "roles": list(self.roles),
            "deadlock_free": self.deadlock_free,
            "states": self.states,
            "transitions": self.transitions,
            "complete": self.complete,
            "bound": self.bound,
            "por": self.por,
            "symmetric_families": list(self.symmetric_families),
            "bound_reached": self.bound_reached,
            "seconds": round(self.seconds, 4),
            "states_per_second": round(self.states / self.explore_seconds) if self.explore_seconds > 0 else 0,
            "peak_rss_bytes": self.peak_rss_bytes,
            "findings": [f.to_json() for f in self.findings],
            "budgets": {role: b.to_json() for role, b in self.budgets.items()},
            "manifests": {role: sorted(m) for role, m in self.manifests.items()},
        }


def unreachable_branches(machines: Mapping[str, Machine], result: ExplorationResult) -> list[Finding]:
    """Branches of choices, offers and ifs that no explored run enters (W105)."""
    findings = []
    for role, machine in machines.items():
        fired = result.fired.get(role, frozenset())
        taken = {b for i in fired for b in machine.transitions[i].branches}
        groups: dict[tuple[int, str, str], list[int]] = {}
        for index, info in enumerate(machine.branches):
            groups.setdefault((info.origin, info.kind, info.label), []).append(index)
        for (_, kind, label), ids in groups.items():
            if any(i in taken for i in ids):
                continue
            info = machine.branches[ids[0]]
            what = {"choose": "choice", "offer": "offer", "if": "condition"}.get(kind, kind)
            name = f" `{info.choice}`" if info.choice else ""
            findings.append(
                Finding(
                    FindingKind.UNREACHABLE_BRANCH,
                    f"branch `{label}` of {role}'s {what}{name} is never taken in any run",
                    (role,),
                    span=info.span,
                )
            )
    return findings


def _action(step: TraceStep) -> Action | None:
    """The machine action a counterexample step took (None for a discarded late message)."""
    if step.kind == "send":
        return Action.send(step.peer, step.label)
    if step.kind == "recv":
        return Action.recv(step.peer, step.label)
    if step.kind == "coin":
        return Action.coin(step.peer, step.label)
    if step.kind == "tau":
        return Action.tau(step.label)
    return None


def stuck_span(machines: Mapping[str, Machine], finding: Finding) -> Span:
    """Where a deadlock's counterexample leaves its first waiting role: the statement it waits at.

    The counterexample is replayed on the machines (tracking every state a step may lead to, since a
    machine may have two transitions with one action); UNKNOWN_SPAN if no state there has a span.
    """
    states = {role: {machine.initial} for role, machine in machines.items()}
    for step in finding.steps:
        action = _action(step)
        machine = machines.get(step.role)
        if action is None or machine is None:
            continue
        states[step.role] = {
            machine.transitions[i].target
            for s in states[step.role]
            for i in machine.outgoing[s]
            if machine.transitions[i].action == action
        }
    for role in finding.roles:
        machine = machines.get(role)
        if machine is None or not machine.spans:
            continue
        for state in sorted(states[role]):
            if machine.spans[state] != UNKNOWN_SPAN:
                return machine.spans[state]
    return UNKNOWN_SPAN


def _located(machines: Mapping[str, Machine], finding: Finding) -> Finding:
    if finding.kind is not FindingKind.DEADLOCK or finding.span != UNKNOWN_SPAN:
        return finding
    span = stuck_span(machines, finding)
    return finding if span == UNKNOWN_SPAN else replace(finding, span=span)


def verify_machines(
    machines: Mapping[str, Machine],
    *,
    bound: int = 4,
    por: bool = True,
    max_states: int | None = None,
    symmetry: bool | None = None,
) -> tuple[ExplorationResult, list[Finding]]:
    """Model-check a set of role machines; the exploration and its findings (branches included).
    `symmetry` (default: as `por`) permutes interchangeable family instances (`verify/symmetry.py`)."""
    result = explore(list(machines.values()), bound=bound, por=por, max_states=max_states, symmetry=symmetry)
    findings = [_located(machines, f) for f in result.findings]
    if result.complete:
        findings += unreachable_branches(machines, result)
    return result, findings


def verify_protocol(
    local_types: Mapping[str, LocalType],
    *,
    bound: int = 4,
    por: bool = True,
    max_states: int | None = None,
    limits: BudgetLimits | None = None,
    symmetry: bool | None = None,
) -> VerificationReport:
    """Verify a protocol given as one local type per role (SPEC §4).

    Raises `MachineCompileError` for a local type that has no finite machine (e.g. a family too large).
    """
    started = time.perf_counter()
    machines = {role: compile_machine(lt, collect_from=COLLECT_FROM) for role, lt in local_types.items()}
    result, findings = verify_machines(
        machines, bound=bound, por=por, max_states=max_states, symmetry=symmetry
    )
    price = limits.price if limits is not None and limits.price is not None else price_by_annotations
    budgets = {role: role_budget(lt, price) for role, lt in local_types.items()}
    manifests = {role: role_manifest(lt, price) for role, lt in local_types.items()}
    if limits is not None:
        findings += check_limits(budgets, manifests, limits)
    protocol = next((lt.protocol for lt in local_types.values()), "")
    return VerificationReport(
        protocol=protocol,
        roles=tuple(local_types),
        deadlock_free=result.complete
        and not any(f.kind in MODEL_CHECK_ERRORS or f.kind is FindingKind.BOUND_REACHED for f in findings),
        states=result.states,
        transitions=result.transitions,
        findings=tuple(findings),
        budgets=budgets,
        manifests=manifests,
        complete=result.complete,
        bound=bound,
        por=por,
        bound_reached=result.bound_reached,
        seconds=time.perf_counter() - started,
        explore_seconds=result.seconds,
        peak_rss_bytes=result.peak_rss_bytes,
        symmetric_families=result.symmetric_families,
        machines=machines,
    )
