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

from collections.abc import Callable
from dataclasses import replace
from functools import cache, partial

from aura_choreo.diagnostics import Diagnostic, error, has_errors, warning
from aura_choreo.projection.merge import merge
from aura_choreo.projection.projector import NotProjectable, Projector, choice_key
from aura_choreo.semantics import core
from aura_choreo.semantics.structure import check_parallel

MAX_PASSES = 8
"""Completion passes at most (each pass that changes something adds a notification, so few are needed)."""


def complete_choices(
    body: core.CoreSeq, roles: tuple[str, ...], *, strict: bool = False
) -> tuple[core.CoreSeq, list[Diagnostic]]:
    """`body` with the minimal notifications inserted, and W102 (or E080 when `strict`) for each.

    A pass decides a choice on unfolded behaviour (`Projector.follow`) with the rec bodies as the pass
    has completed them so far; a notification inserted later into a rec body changes what a role
    receives after unfolding `continue`, so such passes repeat until one inserts nothing: every choice
    is then followable on the completed body that projection reads."""
    diagnostics: list[Diagnostic] = []
    completed = body
    for _ in range(MAX_PASSES):
        completed, found, changed = _complete_pass(completed, roles, strict)
        diagnostics.extend(found)
        if not changed or has_errors(found):
            break
    if not strict:
        check_parallel(completed, diagnostics, notifications_only=True)
    return completed, diagnostics


def _complete_pass(
    body: core.CoreSeq, roles: tuple[str, ...], strict: bool
) -> tuple[core.CoreSeq, list[Diagnostic], bool]:
    diagnostics: list[Diagnostic] = []
    projector = Projector(body)
    changed = False

    def visit(seq: core.CoreSeq) -> core.CoreSeq:
        # Last statement first: a choice may be told apart by what follows it, completed by then.
        done: list[core.CoreStmt] = []
        for stmt in reversed(seq):
            done.append(visit_stmt(stmt, partial(_reversed, done, len(done))))
        return tuple(reversed(done))

    def visit_stmt(stmt: core.CoreStmt, rest: Callable[[], core.CoreSeq]) -> core.CoreStmt:
        nonlocal changed
        stmt = core.map_bodies(stmt, visit)
        if isinstance(stmt, core.Choice):
            key = choice_key(stmt)
            projector.completed[key] = stmt  # its inner choices are complete: unfold with them
            notified = _notify(stmt, rest, roles, projector, strict, diagnostics)
            projector.completed[key] = notified
            changed = changed or notified is not stmt
            return notified
        return stmt

    completed = visit(body)
    # A verdict on unfolded behaviour read rec bodies whose other choices may have been notified since:
    # only then can another pass find more to do.
    return completed, diagnostics, changed and projector.unfolded > 0


def _reversed(done: list[core.CoreStmt], count: int) -> core.CoreSeq:
    """The first `count` statements completed (last first), in order: what follows a choice."""
    return tuple(reversed(done[:count]))


def _informed(choice: core.Choice, rest: Callable[[], core.CoreSeq], role: str, projector: Projector) -> bool:
    try:
        bodies = [projector.seq(b.body, role) for b in choice.branches]
    except NotProjectable:
        return True  # an inner choice the role cannot follow is reported on its own
    if merge(bodies, choice.name) is not None:
        return True
    return projector.follow(choice, role, bodies, rest()) is not None


def _notify(
    choice: core.Choice,
    rest: Callable[[], core.CoreSeq],
    roles: tuple[str, ...],
    projector: Projector,
    strict: bool,
    diagnostics: list[Diagnostic],
) -> core.Choice:
    if len(choice.branches) < 2:
        return choice
    rest = cache(rest)
    uninformed = [
        role for role in roles if role != choice.decider and not _informed(choice, rest, role, projector)
    ]
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
