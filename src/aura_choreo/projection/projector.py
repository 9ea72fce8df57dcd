"""Projecting core sequences onto one role (SPEC §3.3), the rules of projection per statement.

Choices must be completed first (`projection.notify`): a choice a role cannot follow raises
`NotProjectable`. Entry points that complete and then project are in `projection.project`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, partial

from aura_choreo.errors import AuraChoreoError
from aura_choreo.projection import local_types as lt
from aura_choreo.projection.choice_context import ChoiceKey, Places, choice_key, leaves_only_through, places
from aura_choreo.projection.merge import merge
from aura_choreo.projection.unfold import Fork, Later, Unfolding, exits, replace_later, then, unfolded_merge
from aura_choreo.semantics import core
from aura_choreo.semantics.actors import involved_roles, rec_bodies
from aura_choreo.semantics.structure import waiters

__all__ = ["ChoiceKey", "NotProjectable", "Projector", "choice_key"]


class NotProjectable(AuraChoreoError):
    """A choice that a role cannot follow reached projection (callers complete choices first)."""


ALL = 1 << 30
"""Held statements: all that follow."""

Held = tuple[str, object]
"""A statement whose projection, for some role, already holds what follows it: ("rec", label) or
("choice", key)."""


class Projector:
    """Projects core sequences onto roles; knows which roles each `rec` involves."""

    def __init__(self, body: core.CoreSeq, roles: tuple[str, ...] = ()):
        self.order = {role: index for index, role in enumerate(roles)}
        self.recs = rec_bodies(body)
        self.rec_roles = {label: involved_roles(rec_body, self.recs) for label, rec_body in self.recs.items()}
        self.body = body
        self.unfolded = 0
        """Choices some role follows only on unfolded behaviour (their verdict read other choices)."""
        self._materialising = 0
        """Writing out what follows a merged choice: no choice there may hold what follows a rec."""
        self._unfolding = False
        """Inside a merge on unfolded behaviour: a choice the role cannot follow as written is a `Fork`."""
        self._fresh: dict[str, int] = {}
        self.completed: dict[ChoiceKey, core.Choice] = {}
        """Choices completed since `body` was taken (`projection.notify`), used in its place wherever the
        projector reads `body` (a rec's body unfolded, what follows a rec); keys found once only."""
        self._held: dict[tuple[Held, str], int] = {}
        """(statement, role): how many statements after it the statement's projection holds (`follow`)."""

    def seq(self, seq: core.CoreSeq, role: str) -> lt.LocalSeq:
        out: list[lt.LocalStep] = []
        index = 0
        while index < len(seq):
            stmt = seq[index]
            held = _held_key(stmt)
            if held is not None:
                self._held.pop((held, role), None)
            if isinstance(stmt, core.Choice):
                out.extend(self._choice(self._current(stmt), role, seq, index + 1))
            else:
                out.extend(self.stmt(stmt, role))
            # Statements the projection of this one already holds on every way out are skipped.
            index += 1 + (self._held.pop((held, role), 0) if held is not None else 0)
        return tuple(out)

    def stmt(self, stmt: core.CoreStmt, role: str) -> lt.LocalSeq:
        if isinstance(stmt, core.Message):
            if role == stmt.sender:
                return (
                    lt.Send(stmt.receiver, stmt.label, stmt.payload, stmt.sender_annotations, span=stmt.span),
                )
            if role == stmt.receiver:
                return (
                    lt.Recv(stmt.sender, stmt.label, stmt.payload, stmt.message_annotations, span=stmt.span),
                )
            return ()
        if isinstance(stmt, core.Choice):
            return self._choice(self._current(stmt), role, (), 0)
        if isinstance(stmt, core.Conditional):
            bodies = [self.seq(b.body, role) for b in stmt.branches]
            if all(b == bodies[0] for b in bodies[1:]):
                return bodies[0]
            branches = tuple(lt.Branch(b.label, body) for b, body in zip(stmt.branches, bodies, strict=True))
            patterns = tuple(b.pattern or b.label for b in stmt.branches)
            return (
                lt.If(
                    stmt.expr,
                    branches,
                    patterns if any(b.pattern for b in stmt.branches) else (),
                    span=stmt.span,
                ),
            )
        if isinstance(stmt, core.CountedLoop):
            body = self.seq(stmt.body, role)
            if not body:
                return ()
            return (lt.Loop(stmt.count, body, stmt.var, stmt.start, span=stmt.span),)
        if isinstance(stmt, core.Rec):
            if role not in self.rec_roles.get(stmt.label, ()):
                return ()
            return (lt.Rec(stmt.label, self.seq(stmt.body, role), span=stmt.span),)
        if isinstance(stmt, core.Continue):
            if role not in self.rec_roles.get(stmt.label, ()):
                return ()
            return (lt.Continue(stmt.label, span=stmt.span),)
        if isinstance(stmt, core.Parallel):
            parts = [p for p in (self.seq(b, role) for b in stmt.branches) if p]
            if len(parts) <= 1:
                return parts[0] if parts else ()
            return (lt.Par(tuple(parts), span=stmt.span),)
        if isinstance(stmt, core.Quorum):
            return self._quorum(stmt, role)
        if isinstance(stmt, core.LocalAction):
            return (lt.Local(stmt.action, stmt.args, span=stmt.span),) if role == stmt.role else ()
        if isinstance(stmt, core.Let):
            if role not in stmt.roles:
                return ()
            return (lt.Local("let", (), var=stmt.name, expr=stmt.expr, span=stmt.span),)
        if isinstance(stmt, core.Timeout):
            return self._timeout(stmt, role)
        if isinstance(stmt, core.Try):
            return self._try(stmt, role)
        return ()

    @cached_property
    def places(self) -> Places:
        """Where the body's choices and recs stand (walked only once a choice needs it)."""
        return places(self.body)

    def _current(self, stmt: core.Choice) -> core.Choice:
        if not self.completed:
            return stmt
        key = choice_key(stmt)
        return self.completed.get(key, stmt) if key in self.places.unique else stmt

    def _choice(self, stmt: core.Choice, role: str, seq: core.CoreSeq, after: int) -> lt.LocalSeq:
        """`stmt`, which `seq[after:]` follows, projected for `role`."""
        bodies = [self.seq(b.body, role) for b in stmt.branches]
        if role == stmt.decider:
            branches = tuple(
                lt.Branch(b.label, body, b.guard) for b, body in zip(stmt.branches, bodies, strict=True)
            )
            return (lt.Choose(branches, stmt.name, stmt.expr, span=stmt.span),)
        if not bodies:
            return ()
        merged = merge(bodies, stmt.name)
        if merged is None and not self._unfolding:
            merged = self.follow(stmt, role, bodies, seq[after:])  # (slicing only where needed)
        if merged is None and self._unfolding:
            return (Fork(tuple(bodies), span=stmt.span),)
        if merged is None:
            raise NotProjectable(
                f"role `{role}` cannot tell which branch of the choice by `{stmt.decider}` "
                f"at line {stmt.span.line} was taken"
            )
        return merged

    def follow(
        self, stmt: core.Choice, role: str, bodies: list[lt.LocalSeq], rest: core.CoreSeq = ()
    ) -> lt.LocalSeq | None:
        """How `role`, which does not decide `stmt`, follows it (its branch projections `bodies`; `rest`:
        what follows the choice in its sequence): their merge, else their merge on unfolded behaviour
        (`projection.unfold`) looking at `rest`, at the recs the sequence ends, and at what follows
        those; None if it cannot tell the branches apart. A merge that looked at `rest` or past a rec
        holds what it looked at, and `seq` skips it."""
        merged = merge(bodies, stmt.name)
        if merged is not None or self._unfolding:
            return merged
        key = choice_key(stmt)
        chain = tuple(
            label for label in self.places.chains.get(key, ()) if role in self.rec_roles.get(label, ())
        )
        if not rest and not chain:
            return None
        fresh = partial(self._fresh_label, chain[0] if chain else stmt.name or "Choice", role)
        try:
            # As the unfolded recs hold them (so that a branch met again is the same position).
            bodies = [self._unfolded(b.body, role) for b in stmt.branches]
            # Falling off a rec of the chain is reaching the end of the choice's sequence.
            end = (Later(len(rest)),)
            recs = {label: then(self._unfolded(self.recs[label], role), end) for label in chain}
            unfolding = Unfolding(recs, fresh, self._later(rest, role))
            merged = self._merge_later(stmt, role, bodies, rest, unfolding)
            if merged is not None:
                self.unfolded += 1
                return merged
            if not self._after(stmt, role, chain):
                return None
            # A branch that leaves the recs may be told apart by what follows them: merge with it, and
            # the outermost rec's projection then holds the rest (`seq` skips it).
            outer = chain[-1]
            after = self._unfolded(self.places.rests[outer], role)
            unfolding = Unfolding(recs, fresh, self._later(rest, role, after), leaves=False)
            merged = self._merge_later(stmt, role, bodies, rest, unfolding, self.places.rests[outer])
        except NotProjectable:
            return None
        if merged is not None:
            self._held[(("rec", outer), role)] = ALL
            self.unfolded += 1
        return merged

    def _merge_later(
        self,
        stmt: core.Choice,
        role: str,
        bodies: list[lt.LocalSeq],
        rest: core.CoreSeq,
        unfolding: Unfolding,
        after: core.CoreSeq = (),
    ) -> lt.LocalSeq | None:
        """The merge on unfolded behaviour. If its ways out all go on with `rest` (at different statements),
        they are brought to the last of those, which `seq` then skips to; with `after` (what follows the
        recs), the merge writes every way out to its end, holding all of `rest` and `after`."""
        merged = unfolded_merge([then(b, (Later(0),)) for b in bodies], unfolding, stmt.name)
        if merged is None:
            return None
        indices, ends = exits(merged)
        resume = len(rest) if after or ends else max(indices, default=len(rest))
        # Ways that stopped earlier go on, as written, up to `resume` (looking no further than that: a
        # choice there must not hold what follows the rec, which the other ways do not).
        self._materialising += 1
        try:
            merged = replace_later(merged, lambda index: self.seq(rest[index:resume], role))
        finally:
            self._materialising -= 1
        if resume:
            self._held[(("choice", choice_key(stmt)), role)] = resume
        return merged

    def _unfolded(self, seq: core.CoreSeq, role: str) -> lt.LocalSeq:
        """`seq` projected for a merge: a choice the role cannot follow as written is a `Fork`."""
        self._unfolding = True
        try:
            return self.seq(seq, role)
        finally:
            self._unfolding = False

    def _later(
        self, rest: core.CoreSeq, role: str, after: lt.LocalSeq | None = None
    ) -> Callable[[int], lt.LocalSeq | None]:
        def later(index: int) -> lt.LocalSeq | None:
            if index >= len(rest):
                return after
            return then(self._unfolded(rest[index : index + 1], role), (Later(index + 1),))

        return later

    def _after(self, stmt: core.Choice, role: str, chain: tuple[str, ...]) -> bool:
        """Whether the merge may hold what follows the outermost rec of `chain`: only for a user choice (a
        decided or custom loop keeps its loop message, `projection.notify`) whose rec is followed by
        something and never left but through it."""
        if (
            not chain
            or stmt.construct != "choice"
            or chain[-1] not in self.places.rests
            or self._materialising
        ):
            return False
        return leaves_only_through(self.recs[chain[-1]], choice_key(stmt))

    def _fresh_label(self, label: str, role: str) -> str:
        while True:
            self._fresh[role] = self._fresh.get(role, 0) + 1
            fresh = f"{label}_{self._fresh[role]}"
            if fresh not in self.recs:
                return fresh

    def _quorum(self, stmt: core.Quorum, role: str) -> lt.LocalSeq:
        sends = [
            lt.Send(m.receiver, m.label, m.payload, m.sender_annotations, span=m.span)
            for m in stmt.messages
            if m.sender == role
        ]
        recvs = tuple(
            lt.Recv(m.sender, m.label, m.payload, m.message_annotations, span=m.span)
            for m in stmt.messages
            if m.receiver == role
        )
        if recvs:
            return (*sends, lt.Quorum(stmt.min, recvs, span=stmt.span))
        return tuple(sends)

    def _timeout(self, stmt: core.Timeout, role: str) -> lt.LocalSeq:
        body, alt = self.seq(stmt.body, role), self.seq(stmt.alt, role)
        if not body and not alt:
            return ()
        return (lt.Timeout(stmt.deadline_ms, body, alt, role in waiters(stmt.body), span=stmt.span),)

    def _try(self, stmt: core.Try, role: str) -> lt.LocalSeq:
        participants = core.roles_in(stmt.body) | core.roles_in(stmt.comp) | {stmt.coordinator}
        if role not in participants:
            return ()
        ordered = tuple(sorted(participants - {""}, key=lambda r: (self.order.get(r, len(self.order)), r)))
        return (
            lt.Try(
                self.seq(stmt.body, role),
                self.seq(stmt.comp, role),
                stmt.coordinator,
                ordered,
                span=stmt.span,
            ),
        )


def _held_key(stmt: core.CoreStmt) -> Held | None:
    if isinstance(stmt, core.Rec):
        return ("rec", stmt.label)
    if isinstance(stmt, core.Choice):
        return ("choice", choice_key(stmt))
    return None
