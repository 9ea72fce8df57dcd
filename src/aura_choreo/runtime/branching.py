"""The one branch decision: which branch of an `if` or arm of a `match` a value selects.

The monitor uses it for `if`/`match` on shared knowledge (every involved role evaluates it, SPEC
§3.6), the behaviours for the choices they decide, and the monitor again to check a hand-written
role's choice. A `match` whose value matches no arm is an error at the deciding role, never a
silently skipped step: the trace checker rejects such a run, so the runner must not produce it.
"""

from __future__ import annotations

from collections.abc import Sequence

from aura_choreo.errors import ProtocolViolation
from aura_choreo.projection.local_types import Branch
from aura_choreo.runtime.expressions import matches_pattern

TRUTH_LABELS = (("then", "else"), ("continue", "stop"))
"""Branch labels decided by truth: an `if`, and a custom loop (`loop (custom: "has_more")`)."""


class NoMatchingArm(ProtocolViolation):
    """A `match` value that matches none of the arms; names the value and the arms."""

    def __init__(
        self,
        value: object,
        arms: Sequence[str],
        *,
        role: str = "",
        session: str | None = None,
        step: str | None = None,
    ) -> None:
        self.value = value
        self.arms = tuple(arms)
        super().__init__(
            role,
            f"a value matching one of the arms {', '.join(self.arms)}",
            f"{value!r}, which matches none",
            session=session,
            step=step,
        )

    def at(self, role: str, session: str | None, step: str | None) -> NoMatchingArm:
        """The same error, located at the deciding role."""
        return NoMatchingArm(self.value, self.arms, role=role, session=session, step=step)


def select_branch(value: object, branches: Sequence[Branch], patterns: Sequence[str] = ()) -> Branch | None:
    """The branch `value` selects.

    With `patterns` (a `match` on shared knowledge: one full pattern per branch) or with branch labels
    other than `then`/`else` (a `match` decided by this role: the labels are the arms' patterns), the
    first arm whose pattern matches; none raises `NoMatchingArm`. Otherwise an `if` (`then` when
    `value` is truthy, else `else`) or a custom loop (`continue` / `stop`); None when that branch does
    not exist (an `if` without `else`).
    """
    if patterns:
        for branch, pattern in zip(branches, patterns, strict=False):
            if matches_pattern(value, pattern):
                return branch
        raise NoMatchingArm(value, patterns)
    labels = {branch.label for branch in branches}
    for yes, no in TRUTH_LABELS:
        if labels <= {yes, no}:
            wanted = yes if value else no
            for branch in branches:
                if branch.label == wanted:
                    return branch
            return None
    for branch in branches:
        if matches_pattern(value, branch.label):
            return branch
    raise NoMatchingArm(value, [branch.label for branch in branches])
