"""The verification stage of `aura-choreo validate` (after semantics + projection).

For every protocol that projected: model check (`deadlock_free`, `states`), branch reachability,
budgets and manifests, checked against `--flow-limit` / `--policy`. Findings become diagnostics
(E100 deadlock, E101 unspecified reception, E102 orphan message, E103 cannot reach end, E104 over a
limit, W105 unreachable branch, W106 blocked at the channel bound, W107 state limit, W108 budget not
provable, E109 no finite machine), each with its shortest run as a hint; the JSON report carries the
counterexamples as step lists and Mermaid sequence diagrams.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aura_choreo.diagnostics import Diagnostic, error
from aura_choreo.guards.policy_limits import limits_from_policy
from aura_choreo.verify import BudgetLimits, MachineCompileError, verify_protocol

if TYPE_CHECKING:
    from aura_choreo.cli.cmd_validate import Validation
    from aura_choreo.guards.policy import Policy


def verification_stage(validation: Validation, policy: Policy | None = None) -> None:
    """Verify every projected protocol and record its verdict in the report."""
    options = validation.options
    for report in validation.protocols:
        name = report.choreography.qualified_name
        protocol = report.protocol
        report.fields.setdefault("deadlock_free", False)
        report.fields.setdefault("states", 0)
        if protocol is None:
            continue
        local_types = protocol.local_types()
        limits = (
            limits_from_policy(policy, local_types, options.flow_limit)
            if policy is not None
            else BudgetLimits(options.flow_limit)
        )
        span = report.choreography.span
        try:
            result = verify_protocol(
                local_types,
                bound=options.bound,
                por=options.por,
                max_states=options.max_states,
                limits=limits,
            )
        except MachineCompileError as exc:
            validation.diagnostics.append(error("E109", span, f"`{name}` cannot be model-checked: {exc}"))
            continue
        validation.diagnostics.extend(_named(d, name) for d in result.diagnostics(span))
        details = result.to_json()
        report.fields["deadlock_free"] = result.deadlock_free
        report.fields["states"] = result.states
        report.fields["budgets"] = details.pop("budgets")
        report.fields["manifests"] = details.pop("manifests")
        for key in ("protocol", "roles", "deadlock_free", "states"):
            details.pop(key)
        report.fields["verification"] = details


def _named(diagnostic: Diagnostic, protocol: str) -> Diagnostic:
    return Diagnostic(
        diagnostic.code,
        diagnostic.severity,
        diagnostic.span,
        f"{protocol}: {diagnostic.message}",
        diagnostic.hints,
    )
