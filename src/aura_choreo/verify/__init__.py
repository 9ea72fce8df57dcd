"""Verification (SPEC §4): role state machines, the model checker, budgets, manifests, subtyping.

Codes: E100 deadlock, E101 unspecified reception, E102 orphan message, E103 a role cannot reach its
end, E104 over a budget/capability limit, W105 unreachable branch, W106 stuck at the channel bound,
W107 state limit reached, W108 budget not provable (symbolic/unbounded), W109 over the guard chain's
default flow limit with no limit configured, E109 no finite machine.
"""

from aura_choreo.verify.budgets import role_budget, role_manifest
from aura_choreo.verify.compile import MachineCompileError, compile_machine
from aura_choreo.verify.explore import explore
from aura_choreo.verify.export import DotParseError, parse_dot, to_dot, to_mermaid
from aura_choreo.verify.findings import FindingKind
from aura_choreo.verify.fsm import Machine
from aura_choreo.verify.limits import BudgetLimits
from aura_choreo.verify.report import VerificationReport, verify_machines, verify_protocol
from aura_choreo.verify.subtype import check_subtype

__all__ = [
    "BudgetLimits",
    "DotParseError",
    "FindingKind",
    "Machine",
    "MachineCompileError",
    "VerificationReport",
    "check_subtype",
    "compile_machine",
    "explore",
    "parse_dot",
    "role_budget",
    "role_manifest",
    "to_dot",
    "to_mermaid",
    "verify_machines",
    "verify_protocol",
]
