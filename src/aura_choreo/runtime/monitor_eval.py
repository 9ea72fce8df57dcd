"""The expression rules the monitor applies: evaluating an `if`/`match` condition or a loop bound from
what the role knows, deciding the branch, and checking a role's own choice against its guard and
expression. Functions of their inputs; `monitor.Monitor` calls them with its env and position.
"""

from __future__ import annotations

from aura_choreo.projection.local_types import Branch, Choose, If
from aura_choreo.runtime.branching import NoMatchingArm, select_branch
from aura_choreo.runtime.expressions import ExpressionError, evaluate
from aura_choreo.runtime.monitor_types import BranchResolver, EvaluationFailed
from aura_choreo.semantics.expressions import expr_text

__all__ = ["choice_error", "decide_branch", "evaluate_in"]


def evaluate_in(
    expr: object, env: dict[str, object], what: str, role: str, session: str | None, step_count: int
) -> object:
    """The value of `expr` in `env`; `EvaluationFailed` (naming `what`) when it cannot be computed."""
    try:
        return evaluate(expr, env)  # type: ignore[arg-type]
    except ExpressionError as exc:
        raise EvaluationFailed(
            f"cannot evaluate {what}: {exc}",
            role=role,
            session=session,
            step=f"step {step_count + 1}",
        ) from None


def decide_branch(
    step: If,
    env: dict[str, object],
    resolve_if: BranchResolver | None,
    role: str,
    session: str | None,
    step_count: int,
) -> Branch | None:
    """The branch of an `if`/`match` this role takes (None: no branch); `resolve_if` decides when
    the condition cannot be evaluated, and a value matching no arm is a typed error."""
    try:
        value = evaluate_in(step.expr, env, "the condition of an if/match", role, session, step_count)
    except EvaluationFailed:
        if resolve_if is None:
            raise
        return resolve_if(step)
    try:
        return select_branch(value, step.branches, step.patterns)
    except NoMatchingArm as exc:
        raise exc.at(role, session, f"step {step_count + 1}") from None


def choice_error(
    step: Choose, branch: Branch, env: dict[str, object], role: str, session: str | None, step_count: int
) -> str | None:
    """Why choosing `branch` is wrong (None: it is allowed). A choice must take a branch whose guard
    holds and, when its expression can be evaluated from what the role knows, the branch that
    expression selects (hand-written roles included)."""
    if branch.guard is not None:
        try:
            holds = evaluate(branch.guard, env)
        except ExpressionError:
            holds = True  # a value this role's behaviour supplies: it cannot be checked here
        if not holds:
            guard = expr_text(branch.guard)
            return f"choose {branch.label}, whose guard `{guard}` is false"
    if step.expr is None:
        return None
    try:
        value = evaluate(step.expr, env)
    except ExpressionError:
        return None
    try:
        wanted = select_branch(value, step.branches)
    except NoMatchingArm as exc:
        raise exc.at(role, session, f"step {step_count + 1}") from None
    if wanted is not None and wanted is not branch:
        selects = f"`{expr_text(step.expr)}` is {value!r}, which selects {wanted.label}"
        return f"choose {branch.label}, but {selects}"
    return None
