"""What verification finds, with codes (documented in `CODES`) and counterexamples."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from aura_choreo.diagnostics import UNKNOWN_SPAN, Diagnostic, Severity, Span
from aura_choreo.verify.trace import TraceStep, sequence_diagram


class FindingKind(StrEnum):
    """Kinds of verification findings."""

    DEADLOCK = "deadlock"
    UNSPECIFIED_RECEPTION = "unspecified_reception"
    ORPHAN_MESSAGE = "orphan_message"
    CANNOT_REACH_END = "cannot_reach_end"
    BUDGET_EXCEEDED = "budget_exceeded"
    UNREACHABLE_BRANCH = "unreachable_branch"
    BOUND_REACHED = "bound_reached"
    STATE_LIMIT = "state_limit"
    BUDGET_UNPROVEN = "budget_unproven"
    OVER_DEFAULT_LIMIT = "over_default_limit"


CODES: dict[FindingKind, tuple[str, Severity, str]] = {
    FindingKind.DEADLOCK: ("E100", Severity.ERROR, "a role waits forever with nothing it can take in flight"),
    FindingKind.UNSPECIFIED_RECEPTION: (
        "E101",
        Severity.ERROR,
        "a message at the head of a channel that its receiver can never take",
    ),
    FindingKind.ORPHAN_MESSAGE: ("E102", Severity.ERROR, "every role ended but a message was never read"),
    FindingKind.CANNOT_REACH_END: (
        "E103",
        Severity.ERROR,
        "a role can no longer reach its end (livelock, or a loop nobody can leave)",
    ),
    FindingKind.BUDGET_EXCEEDED: (
        "E104",
        Severity.ERROR,
        "worst-case flow cost, leakage or capabilities exceed the configured limits",
    ),
    FindingKind.UNREACHABLE_BRANCH: ("W105", Severity.WARNING, "a branch that no run can take"),
    FindingKind.BOUND_REACHED: (
        "W106",
        Severity.WARNING,
        "every role is blocked on a full channel; runs beyond the bound were not explored",
    ),
    FindingKind.STATE_LIMIT: ("W107", Severity.WARNING, "the state limit stopped the exploration early"),
    FindingKind.BUDGET_UNPROVEN: (
        "W108",
        Severity.WARNING,
        "a cost is unbounded or symbolic, so a limit cannot be proven",
    ),
    FindingKind.OVER_DEFAULT_LIMIT: (
        "W109",
        Severity.WARNING,
        "no flow limit configured, and a worst-case flow cost over the guard chain's default limit",
    ),
}
"""Verification codes: E100-E104 errors, W105-W109 warnings (kind -> code, severity, meaning)."""


@dataclass(frozen=True)
class Finding:
    """One verification result: what, which roles, and the shortest run that shows it (if any)."""

    kind: FindingKind
    message: str
    roles: tuple[str, ...] = ()
    steps: tuple[TraceStep, ...] = ()
    participants: tuple[str, ...] = ()
    span: Span = field(default=UNKNOWN_SPAN, compare=False)

    @property
    def code(self) -> str:
        return CODES[self.kind][0]

    @property
    def severity(self) -> Severity:
        return CODES[self.kind][1]

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sequence_diagram(self) -> str:
        """The counterexample as a Mermaid sequence diagram."""
        return sequence_diagram(self.participants or self.roles, self.steps, self.message)

    def to_diagnostic(self, span: Span | None = None) -> Diagnostic:
        """As a diagnostic; the counterexample becomes a hint."""
        hints: tuple[str, ...] = ()
        if self.steps:
            run = "; ".join(f"{i}. {s.text()}" for i, s in enumerate(self.steps, 1))
            hints = (f"shortest run: {run}",)
        elif self.kind in (FindingKind.DEADLOCK, FindingKind.UNSPECIFIED_RECEPTION):
            hints = ("it happens in the initial state",)
        where = span if span is not None and self.span == UNKNOWN_SPAN else self.span
        return Diagnostic(self.code, self.severity, where, self.message, hints)

    def to_json(self) -> dict[str, object]:
        result: dict[str, object] = {
            "kind": self.kind.value,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "roles": list(self.roles),
        }
        if self.steps or self.kind in (
            FindingKind.DEADLOCK,
            FindingKind.UNSPECIFIED_RECEPTION,
            FindingKind.ORPHAN_MESSAGE,
            FindingKind.CANNOT_REACH_END,
        ):
            result["counterexample"] = [s.to_json() for s in self.steps]
            result["sequence_diagram"] = self.sequence_diagram()
        return result
