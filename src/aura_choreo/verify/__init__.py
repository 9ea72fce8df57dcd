"""Verification (SPEC §4): role state machines, the model checker, budgets, manifests, subtyping.

Codes: E100 deadlock, E101 unspecified reception, E102 orphan message, E103 a role cannot reach its
end, E104 over a budget/capability limit, W105 unreachable branch, W106 stuck at the channel bound,
W107 state limit reached, W108 budget not provable (symbolic/unbounded), E109 no finite machine.
"""

from aura_choreo.verify.budgets import Cost, PeerBudget, RoleBudget, role_budget, role_manifest
from aura_choreo.verify.compile import MachineCompileError, compile_machine
from aura_choreo.verify.explore import ExplorationResult, explore
from aura_choreo.verify.export import (
    DotParseError,
    machine_to_dot,
    machine_to_mermaid,
    parse_dot,
    to_dot,
    to_mermaid,
)
from aura_choreo.verify.findings import CODES, Finding, FindingKind
from aura_choreo.verify.fsm import Action, ActionKind, Machine, Transition
from aura_choreo.verify.limits import BudgetLimits, RoleLimits, check_limits
from aura_choreo.verify.report import VerificationReport, verify_machines, verify_protocol
from aura_choreo.verify.subtype import SubtypeResult, check_subtype
from aura_choreo.verify.trace import TraceStep, sequence_diagram

__all__ = [
    "CODES",
    "Action",
    "ActionKind",
    "BudgetLimits",
    "Cost",
    "DotParseError",
    "ExplorationResult",
    "Finding",
    "FindingKind",
    "Machine",
    "MachineCompileError",
    "PeerBudget",
    "RoleBudget",
    "RoleLimits",
    "SubtypeResult",
    "TraceStep",
    "Transition",
    "VerificationReport",
    "check_limits",
    "check_subtype",
    "compile_machine",
    "explore",
    "machine_to_dot",
    "machine_to_mermaid",
    "parse_dot",
    "role_budget",
    "role_manifest",
    "sequence_diagram",
    "to_dot",
    "to_mermaid",
    "verify_machines",
    "verify_protocol",
]
