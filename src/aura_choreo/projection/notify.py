"""Knowledge of choice (SPEC §3.4): tell the roles that cannot learn which branch was taken.

Inner choices are completed first, so an outer choice sees their notifications. For each choice and
each other role, in declaration order: if the role's branch projections do not merge (also on
unfolded behaviour, through `continue`: `projection.unfold`), the decider sends it a message
labelled with the branch label at the start of every branch (W102), or, under strict choice, error
E080 names the message to add. A role that learns the branch from another role's
message merges already, so it is never notified.

A decided or custom loop is the exception: its `continue`/`stop` decision is the loop's own message to
the roles that cannot tell (issue 11 item 8). It is inserted without W102 or E080, whose hint (start
every branch with a message) cannot be applied to a loop: the `stop` branch has no text to edit.
"""

from __future__ import annotations

from dataclasses import replace

from aura_choreo.diagnostics import Diagnostic, error, warning
from aura_choreo.projection.projector import NotProjectable, Projector
from aura_choreo.semantics import core
from aura_choreo.semantics.structure import check_parallel


def complete_choices(
    body: core.CoreSeq, roles: tuple[str, ...], *, strict: bool = False
) -> tuple[core.CoreSeq, list[Diagnostic]]:
    """`body` with the minimal notifications inserted, and W102 (or E080 when `strict`) for each."""
    diagnostics: list[Diagnostic] = []
    projector = Projector(body)

    def visit(seq: core.CoreSeq) -> core.CoreSeq:
        return tuple(visit_stmt(s) for s in seq)

    def visit_stmt(stmt: core.CoreStmt) -> core.CoreStmt:
        stmt = core.map_bodies(stmt, visit)
        if isinstance(stmt, core.Choice):
            return _notify(stmt, roles, projector, strict, diagnostics)
        return stmt

    completed = visit(body)
    if not strict:
        check_parallel(completed, diagnostics, notifications_only=True)
    return completed, diagnostics


def _informed(choice: core.Choice, role: str, projector: Projector) -> bool:
    try:
        bodies = [projector.seq(b.body, role) for b in choice.branches]
    except NotProjectable:
        return True  # an inner choice the role cannot follow is reported on its own
    return projector.follow(choice, role, bodies) is not None


def _notify(
    choice: core.Choice,
    roles: tuple[str, ...],
    projector: Projector,
    strict: bool,
    diagnostics: list[Diagnostic],
) -> core.Choice:
    if len(choice.branches) < 2:
        return choice
    uninformed = [role for role in roles if role != choice.decider and not _informed(choice, role, projector)]
    if not uninformed:
        return choice
    if choice.construct.endswith("loop"):
        return _with_notifications(choice, uninformed)
    d = choice.decider
    what = "the choice" if choice.construct == "choice" else f"the `{choice.construct}`"
    puzzle = f"which branch of {what} by `{d}` (line {choice.span.line}) was taken"
    if strict:
        for role in uninformed:
            fixes = ", ".join(
                f"`{d} -> {role}: {b.label};` first in branch `{b.label}`" for b in choice.branches
            )
            diagnostics.append(
                error("E080", choice.span, f"role `{role}` cannot tell {puzzle}", f"add {fixes}")
            )
        return choice
    diagnostics.append(_notification_warning(d, uninformed, puzzle, choice))
    return _with_notifications(choice, uninformed)


def _with_notifications(choice: core.Choice, uninformed: list[str]) -> core.Choice:
    """`choice` with the decider telling each of `uninformed` the branch label first in every branch."""
    d = choice.decider
    branches = tuple(
        replace(
            b,
            body=tuple(
                core.Message(d, role, b.label, notification=True, span=choice.span) for role in uninformed
            )
            + b.body,
        )
        for b in choice.branches
    )
    return replace(choice, branches=branches)


def _notification_warning(decider: str, roles: list[str], puzzle: str, choice: core.Choice) -> Diagnostic:
    """One W102 per choice, naming every role that is notified (a family's instances would otherwise
    each get a copy of the same warning)."""
    if len(roles) == 1:
        who, target = f"role `{roles[0]}`", roles[0]
    else:
        names = [f"`{role}`" for role in roles]
        who, target = f"roles {', '.join(names[:-1])} and {names[-1]}", "<role>"
    return warning(
        "W102",
        choice.span,
        f"{who} cannot tell {puzzle}; "
        f"inserted `{decider} -> {target}: <branch label>` at the start of each branch",
        f"to make it explicit, start every branch with a message from `{decider}` to "
        f"{'`' + target + '`' if len(roles) == 1 else 'each of them'} with a distinct label",
    )
