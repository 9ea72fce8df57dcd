"""Knowledge of choice through `rec`/`continue` (SPEC §3.4, issue 11 item 8): merge on unfolded behaviour.

The full merge (`projection.merge`) compares a role's branch projections as written. In

    rec X { A -> B: M1; choice A { b1: { continue X } b2: { A -> B: M2; continue X } } }

B's branches are `continue X` and `A?M2; continue X`: they do not merge as written, yet B can tell them
apart, because `continue X` next receives `M1`. This module merges what a role will receive next with
the jumps followed: a branch that continues the enclosing `rec X` is replaced by X's body, in which
the choice itself stands as a *point* (`POINT`) that, when reached again, is the whole choice again.
The sets of positions the role may be at are explored as a subset construction; a set seen again
becomes a new `rec` (labels `X_1`, `X_2`, ...), so for B the result is

    rec X { A?M1; rec X_1 { offer A { M1: continue X_1  M2: continue X } } }

It is used only where the written merge fails and the choice is the last statement of X's body (as
seen through enclosing choices), so the result replaces the choice's projection and nothing after it.
A branch that leaves the rec (`stop: { }` beside `again: { continue X }`) can only be told apart by
what follows the rec: the caller may pass that (`after`); the result then holds it on every way out,
and the caller drops it after the rec (`Projector.seq`).
"""

from __future__ import annotations

from collections.abc import Callable

from aura_choreo.projection.local_types import Continue, LocalSeq, LocalStep, Rec, iter_steps, map_sequences
from aura_choreo.projection.merge import assemble, split_heads

POINT = "<choice point>"
"""The label of the `Continue` that stands for the choice being merged inside its `rec`'s body."""

Position = LocalSeq


class _Unmergeable(Exception):
    """The role cannot tell the branches apart even on unfolded behaviour."""


def unfolded_merge(
    branches: list[LocalSeq],
    rec_label: str,
    rec_body: LocalSeq,
    fresh_label: Callable[[], str],
    choice: str = "",
    after: LocalSeq = (),
) -> LocalSeq | None:
    """The role's merged projection of a choice at the end of `rec rec_label`'s body, or None.

    `branches`: the role's projection of each branch; `rec_body`: its projection of the rec's body with
    the choice replaced by `Continue(POINT)`; `fresh_label` gives unused rec labels. `after`: what the
    role does once it leaves the rec; when given, a branch that leaves continues with it, and the result
    then holds it (the caller drops it after the rec).
    """
    ends = tuple(b if b and isinstance(b[-1], Continue) else b + after for b in branches)
    merger = _Merger(ends, rec_label, rec_body, fresh_label, choice)
    try:
        return merger.merge(tuple(dict.fromkeys(ends)))
    except _Unmergeable:
        return None


class _Merger:
    def __init__(
        self,
        branches: tuple[Position, ...],
        rec_label: str,
        rec_body: LocalSeq,
        fresh_label: Callable[[], str],
        choice: str,
    ) -> None:
        self.branches = branches
        self.rec_label = rec_label
        self.rec_body = rec_body
        self.fresh_label = fresh_label
        self.choice = choice
        self.root: frozenset[Position] | None = None
        self.open: dict[frozenset[Position], str | None] = {}
        """Position sets being merged (outermost first), with their rec label once one is needed."""

    def merge(self, positions: tuple[Position, ...]) -> LocalSeq:
        """The role's behaviour from a set of positions it cannot yet tell apart."""
        if len(positions) == 1 and not _starts_at(positions[0], POINT):
            return self._written(positions[0])
        normal = self._normalise(positions)
        key = frozenset(normal)
        if self.root is None:
            self.root = key
        if key in self.open:
            again = self.open[key] or self.fresh_label()
            self.open[key] = again
            return (Continue(again),)
        if len(normal) == 1:
            return self._written(normal[0])
        self.open[key] = None
        try:
            merged = self._offer(normal)
        finally:
            label = self.open.pop(key)
        return merged if label is None else (Rec(label, merged),)

    def _written(self, position: Position) -> LocalSeq:
        """A single position as written: a choice point in it jumps back to the whole choice."""
        if not any(isinstance(s, Continue) and s.label == POINT for s in iter_steps(position)):
            return position
        if self.root is None or self.root not in self.open:
            raise _Unmergeable  # the point is reached outside the choice's own unfolding
        label = self.open[self.root] or self.fresh_label()
        self.open[self.root] = label
        return tuple(_replace_point(step, label) for step in position)

    def _normalise(self, positions: tuple[Position, ...]) -> tuple[Position, ...]:
        """Follow the jumps at the head of every position (`continue X`, the choice point), in order."""
        done: dict[Position, None] = {}
        seen: set[Position] = set()
        work = list(reversed(positions))
        while work:
            position = work.pop()
            if position in seen:
                continue
            seen.add(position)
            if _starts_at(position, self.rec_label):
                work.append(self.rec_body)
            elif _starts_at(position, POINT):
                work.extend(reversed(self.branches))
            else:
                done[position] = None
        if not done:
            raise _Unmergeable  # a loop that never communicates: nothing to tell the branches by
        return tuple(done)

    def _offer(self, positions: tuple[Position, ...]) -> LocalSeq:
        """One level of the merge: every position starts with a receive from one sender."""
        heads = split_heads(positions, self.choice)
        if heads is None:
            raise _Unmergeable
        groups = heads.continuations.items()
        bodies = {label: self.merge(tuple(dict.fromkeys(group))) for label, group in groups}
        return assemble(heads, bodies)


def _starts_at(position: Position, label: str) -> bool:
    return bool(position) and isinstance(position[0], Continue) and position[0].label == label


def _replace_point(step: LocalStep, label: str) -> LocalStep:
    """`step` with every choice point in it a `continue label`."""
    if isinstance(step, Continue) and step.label == POINT:
        return Continue(label, span=step.span)
    return map_sequences(step, lambda body: tuple(_replace_point(s, label) for s in body))
