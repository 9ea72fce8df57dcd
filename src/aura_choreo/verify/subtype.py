"""Asynchronous subtyping (SPEC §4.5): may a hand-written machine replace a role's projection?

Choice of algorithm: instead of a syntactic bounded subtyping game (Bravetti/Lange/Zavattaro), the
implementation is checked *in context*: it replaces the role's machine, and the product with every
other role's projected machine is explored exhaustively up to the channel bound. It is accepted only
when that composed system is free of deadlock, unspecified reception, orphan messages and roles that
cannot reach their end, the exploration finished, and no run got stuck on a full channel.

Why this is sound (bounded): the other roles are exactly the projections the implementation will run
against, and every run of the composed system with at most k messages per channel has been examined,
so an accepted implementation cannot make any of them go wrong within that bound; when runs got stuck
at the bound the answer is "rejected: undecided within bound k", never a guess. It accepts the classic
asynchronous refinements: sending before receiving when nobody can be stuck by it, and fewer
selections (a dropped `choose` branch: the other roles simply never see that label). It rejects an
early send that deadlocks, and a missing `offer` branch (the peer may select it: an unspecified
reception). Before that, a vocabulary check explains the plainest mistakes: messages the projection
never sends, peers that are not roles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aura_choreo.projection.local_types import LocalType
from aura_choreo.verify.compile import compile_machine
from aura_choreo.verify.findings import Finding, FindingKind
from aura_choreo.verify.fsm import ActionKind, Machine
from aura_choreo.verify.report import MODEL_CHECK_ERRORS, verify_machines


@dataclass(frozen=True)
class SubtypeResult:
    """The verdict: accepted or not, why, and the counterexample findings of the composed system."""

    role: str
    accepted: bool
    reasons: tuple[str, ...]
    findings: tuple[Finding, ...]
    states: int
    bound: int

    def explain(self) -> str:
        if self.accepted:
            return (
                f"accepted: the machine may replace the projection of {self.role} (every run of the "
                f"protocol with it, up to {self.bound} messages per channel, is safe; {self.states} states)"
            )
        lines = [f"rejected: the machine may not replace the projection of {self.role}"]
        lines += [f"  - {reason}" for reason in self.reasons]
        for finding in self.findings:
            for i, step in enumerate(finding.steps, 1):
                lines.append(f"      {i}. {step.text()}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {
            "role": self.role,
            "accepted": self.accepted,
            "reasons": list(self.reasons),
            "states": self.states,
            "bound": self.bound,
            "findings": [f.to_json() for f in self.findings],
        }


def _vocabulary(impl: Machine, spec: Machine, roles: tuple[str, ...]) -> list[str]:
    problems = []
    spec_sends = {
        (t.action.peer, t.action.label) for t in spec.transitions if t.action.kind is ActionKind.SEND
    }
    for t in impl.transitions:
        a = t.action
        if a.is_message and a.peer not in roles:
            problems.append(f"`{a.text()}`: `{a.peer}` is not a role of the protocol ({', '.join(roles)})")
        elif a.kind is ActionKind.SEND and (a.peer, a.label) not in spec_sends:
            problems.append(
                f"it sends `{a.label}` to {a.peer}, which the projection of {spec.role} never sends"
            )
    return list(dict.fromkeys(problems))


def check_subtype(
    impl: Machine,
    local_types: Mapping[str, LocalType],
    role: str,
    *,
    bound: int = 4,
    max_states: int | None = 1_000_000,
) -> SubtypeResult:
    """Whether `impl` may safely replace the projection of `role` in the protocol of `local_types`."""
    if role not in local_types:
        raise KeyError(role)
    machines = {r: compile_machine(lt) for r, lt in local_types.items()}
    spec = machines[role]
    impl = impl.replace_role(role)
    roles = tuple(machines)
    reasons = _vocabulary(impl, spec, roles)
    machines[role] = impl
    result, findings = verify_machines(machines, bound=bound, por=True, max_states=max_states)
    bad = tuple(f for f in findings if f.kind in MODEL_CHECK_ERRORS)
    for finding in bad:
        reasons.append(f"with it, {_what(finding)}")
    if not result.complete:
        reasons.append(f"undecided: the exploration stopped at {result.states} states")
    if any(f.kind is FindingKind.BOUND_REACHED for f in findings):
        reasons.append(
            f"undecided within the bound: some run needs more than {bound} messages in a channel"
            " (try a larger --bound)"
        )
    return SubtypeResult(role, not reasons, tuple(reasons), bad, result.states, bound)


def _what(finding: Finding) -> str:
    if finding.kind is FindingKind.DEADLOCK:
        return f"the protocol can deadlock ({finding.message.removeprefix('deadlock: ')}):"
    if finding.kind is FindingKind.UNSPECIFIED_RECEPTION:
        return f"a message cannot be received ({finding.message}):"
    if finding.kind is FindingKind.ORPHAN_MESSAGE:
        return f"a message is never read ({finding.message.removeprefix('every role ended but ')}):"
    return f"a role cannot finish ({finding.message}):"
