"""Knowledge of choice on unfolded behaviour (SPEC §3.4, issue 11 item 8): a subset construction.

The full merge (`projection.merge`) compares a role's branch projections as written. In

    rec X { A -> B: M1; choice A { b1: { continue X } b2: { A -> B: M2; continue X } } }

B's branches are `continue X` and `A?M2; continue X`: they do not merge as written, yet B can tell them
apart, because `continue X` next receives `M1`. This module follows the role's behaviour from the set
of *positions* it may be at (each a local sequence: what it still has to do), as a subset
construction over its local moves:

- a position that starts with `continue X` for a rec of the choice's *tail chain* (the recs the choice
  ends, `Unfolding.recs`) goes on with X's body;
- a `Fork` (a choice by another role that the role could not follow as written, the merged choice
  itself among them) goes on with each of its branches, then what follows it;
- a `rec Y` met on the way (not in the chain) is entered, its `continue Y`s becoming `_Resume` steps
  that stand for the rec and what follows it.

A set of several positions is followed only if every position starts by receiving from one sender, with
one payload per label (the full merge of receive branches, one level at a time); the label received then
selects the positions that go on. A position that sends, decides, ends or does anything else while
others are possible is refused: the role could not know what to do. A set met again becomes a `rec`
(labels `X_1`, `X_2`, ...), so for B the result is

    rec X_1 { offer A { M1: continue X_1  M2: continue X } }   (after B's `A?M1`)

Soundness rests on per-channel FIFO: the positions of a set share everything the role has observed, so
the next message from the sender on that channel is the one the actual branch sends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from aura_choreo.projection.local_types import (
    Choose,
    Continue,
    If,
    LocalSeq,
    LocalStep,
    Offer,
    Rec,
    Recv,
    child_sequences,
    iter_steps,
    map_sequences,
)
from aura_choreo.projection.merge import assemble, split_heads

BUDGET = 4000
"""Sets a merge may visit before it gives up (the role is then notified: conservative, never wrong)."""
LOOKAHEAD = 32
"""Statements after the choice a merge may look at (it projects them one at a time, only as far as it
must: a long protocol's choices each looking at all of the rest would make projection quadratic)."""


@dataclass(frozen=True)
class Fork(LocalStep):
    """A choice by another role that this role did not follow as written: one of `branches`, then what
    follows. It exists only inside the merge (`Projector` in unfolding mode) and never reaches a result."""

    branches: tuple[LocalSeq, ...]


@dataclass(frozen=True)
class _Resume(LocalStep):
    """`continue Y` of a rec entered inside the merge: the rec again, then what followed it
    (`_Merger.targets`)."""

    key: int


@dataclass(frozen=True)
class Later(LocalStep):
    """What follows the choice in its sequence from statement `index` on, not projected yet
    (`Unfolding.later`). In a result, it ends a way through the choice: the role goes on from there."""

    index: int


class _Unmergeable(Exception):
    """The role cannot tell the branches apart even on unfolded behaviour."""


@dataclass(frozen=True)
class Unfolding:
    """What the merge may unfold: the role's projection of each rec body of the choice's tail chain (with
    what follows the outermost one, when the caller lets the merge hold it)."""

    recs: Mapping[str, LocalSeq]
    fresh_label: Callable[[], str]
    later: Callable[[int], LocalSeq | None] = lambda index: None
    """The role's projection of statement `index` after the choice, followed by `Later(index + 1)`; at the
    end of the sequence, what follows the recs (when the merge may hold it), else None."""
    leaves: bool = True
    """Whether a way that has told the branches apart stops at `Later` (else the merge writes all of what
    follows: then no way out of the result stops early)."""


def unfolded_merge(branches: list[LocalSeq], unfolding: Unfolding, choice: str = "") -> LocalSeq | None:
    """The role's merged behaviour from `branches` (each already followed by what the role does after the
    choice), or None when it cannot tell them apart."""
    merger = _Merger(unfolding, choice)
    try:
        return merger.merge(tuple(branches))
    except (_Unmergeable, RecursionError):
        return None


def exits(seq: LocalSeq) -> tuple[frozenset[int], bool]:
    """The `Later` indices that end the ways through a result, and whether some way just ends."""
    if not seq:
        return frozenset(), True
    last = seq[-1]
    if isinstance(last, Later):
        return frozenset((last.index,)), False
    if isinstance(last, Continue):
        return frozenset(), False
    if isinstance(last, Offer | Choose | If):
        found = [exits(b.body) for b in last.branches]
        return frozenset().union(*(f[0] for f in found)), any(f[1] for f in found)
    if isinstance(last, Rec):
        return exits(last.body)
    return frozenset(), True


def replace_later(seq: LocalSeq, replacement: Callable[[int], LocalSeq]) -> LocalSeq:
    """`seq` with every `Later(i)` (they only end ways through it) replaced by `replacement(i)`."""
    out: list[LocalStep] = []
    for step in seq:
        if isinstance(step, Later):
            out.extend(replacement(step.index))
        elif child_sequences(step):
            out.append(map_sequences(step, lambda body: replace_later(body, replacement)))
        else:
            out.append(step)
    return tuple(out)


def cut(position: LocalSeq) -> LocalSeq:
    """`position` up to its first `continue` (anything after a jump is never reached)."""
    for index, step in enumerate(position):
        if isinstance(step, Continue | _Resume):
            return position[: index + 1]
    return position


def then(first: LocalSeq, rest: LocalSeq) -> LocalSeq:
    """`first` followed by `rest`, unless `first` jumps away."""
    return first if first and isinstance(first[-1], Continue | _Resume | Later) else first + rest


class _Merger:
    def __init__(self, unfolding: Unfolding, choice: str) -> None:
        self.recs = unfolding.recs
        self.fresh_label = unfolding.fresh_label
        self.later = unfolding.later
        self.leaves = unfolding.leaves
        self.choice = choice
        self.open: dict[frozenset[LocalSeq], str | None] = {}
        """Position sets being merged (outermost first), with their rec label once one is needed."""
        self.resumes: dict[tuple[Rec, LocalSeq], int] = {}
        self.targets: list[LocalSeq] = []
        """Per `_Resume` key: the rec and what followed it."""
        self.budget = BUDGET

    def merge(self, positions: tuple[LocalSeq, ...]) -> LocalSeq:
        """The role's behaviour from a set of positions it cannot yet tell apart."""
        positions = tuple(dict.fromkeys(cut(p) for p in positions))
        if self._leaf(positions):
            return positions[0]  # the role goes on with what follows the choice
        if len(positions) == 1 and not self._marked(positions[0]):
            return positions[0]
        if len(positions) == 1:
            prefix, position = self._plain_prefix(positions[0])
            if prefix:
                return prefix + self.merge((position,))
        normal = self._normalise(positions)
        key = frozenset(normal)
        if key in self.open:
            again = self.open[key] or self.fresh_label()
            self.open[key] = again
            return (Continue(again),)
        self.budget -= 1
        if self.budget < 0:
            raise _Unmergeable
        self.open[key] = None
        try:
            merged = self._step(normal)
        finally:
            label = self.open.pop(key)
        return merged if label is None else (Rec(label, merged),)

    def _step(self, positions: tuple[LocalSeq, ...]) -> LocalSeq:
        if len(positions) == 1:
            (position,) = positions
            if not self._marked(position) or self._leaf(positions):
                return position
            prefix, position = self._plain_prefix(position)  # what entering a rec brought to the head
            if prefix:
                return prefix + self.merge((position,))
            head, rest = position[0], position[1:]
            if isinstance(head, Choose | If):  # the role's own decision: each branch on its own
                branches = tuple(replace(b, body=self.merge((then(b.body, rest),))) for b in head.branches)
                return (replace(head, branches=branches),)
            if not isinstance(head, Recv | Offer):
                raise _Unmergeable  # a compound step with a jump of the merge inside it
        return self._offer(positions)

    def _offer(self, positions: tuple[LocalSeq, ...]) -> LocalSeq:
        """One level of the merge: every position starts with a receive from one sender."""
        heads = split_heads(positions, self.choice)
        if heads is None:
            raise _Unmergeable
        groups = heads.continuations.items()
        bodies = {label: self.merge(tuple(group)) for label, group in groups}
        return assemble(heads, bodies)

    def _leaf(self, positions: tuple[LocalSeq, ...]) -> bool:
        only = positions[0] if len(positions) == 1 else ()
        return self.leaves and len(only) == 1 and isinstance(only[0], Later)

    def _plain_prefix(self, position: LocalSeq) -> tuple[LocalSeq, LocalSeq]:
        """The leading steps of `position` that hold nothing of the merge (written as they are), and the
        rest."""
        for index, step in enumerate(position):
            if isinstance(step, Offer | Choose | If) or self._marked((step,)):
                return position[:index], position[index:]
        return position, ()

    def _marked(self, position: LocalSeq) -> bool:
        """Whether `position` holds a step the result cannot contain: a `Fork`, a `_Resume`, or a rec
        entered by the merge."""
        return any(isinstance(s, Fork | _Resume | Later) for s in iter_steps(position))

    def _normalise(self, positions: tuple[LocalSeq, ...]) -> tuple[LocalSeq, ...]:
        """Follow the jumps at the head of every position (tail-chain `continue`s, forks, entered recs),
        in order."""
        several = len(positions) > 1
        normal = self._expand(positions, several)
        if len(normal) > 1 and not several:  # a fork made several: enter their recs, look further
            normal = self._expand(normal, True)
        return normal

    def _expand(self, positions: tuple[LocalSeq, ...], several: bool) -> tuple[LocalSeq, ...]:
        """One round of `_normalise`; a rec or what follows the choice is entered only among `several`
        positions (or where the merge must step through it)."""
        done: dict[LocalSeq, None] = {}
        seen: set[LocalSeq] = set()
        work = list(reversed(positions))
        while work:
            position = cut(work.pop())
            if position in seen:
                continue
            seen.add(position)
            head = position[0] if position else None
            if isinstance(head, Continue) and head.label in self.recs:
                work.append(self.recs[head.label])
            elif isinstance(head, Fork):
                work.extend(reversed([then(b, position[1:]) for b in head.branches]))
            elif isinstance(head, _Resume):
                work.append(self.targets[head.key])
            elif isinstance(head, Later) and (several or len(position) > 1 or not self.leaves):
                if head.index > LOOKAHEAD:
                    raise _Unmergeable
                following = self.later(head.index)
                if following is None:
                    done[position] = None  # the end of the choice's sequence: like an empty position
                else:
                    work.append(then(following, position[1:]))
            elif isinstance(head, Rec) and (several or self._marked(position)):
                work.append(self._enter(head, position[1:]))
            else:
                done[position] = None
        if not done:
            raise _Unmergeable  # a loop that never communicates: nothing to tell the branches by
        return tuple(done)

    def _enter(self, rec: Rec, rest: LocalSeq) -> LocalSeq:
        """`rec` followed by `rest`, entered: its body, whose `continue`s resume the rec and `rest`."""
        key = self.resumes.get((rec, rest))
        if key is None:
            key = self.resumes[(rec, rest)] = len(self.targets)
            self.targets.append((rec, *rest))
        return then(tuple(_resumed(s, rec.label, key) for s in rec.body), rest)


def _resumed(step: LocalStep, label: str, key: int) -> LocalStep:
    """`step` with every `continue label` that refers to the entered rec a `_Resume(key)`."""
    if isinstance(step, Continue) and step.label == label:
        return _Resume(key, span=step.span)
    if isinstance(step, Rec) and step.label == label:
        return step  # shadowed
    if isinstance(step, Fork):
        return replace(step, branches=tuple(tuple(_resumed(s, label, key) for s in b) for b in step.branches))
    if not child_sequences(step):
        return step
    return map_sequences(step, lambda body: tuple(_resumed(s, label, key) for s in body))
