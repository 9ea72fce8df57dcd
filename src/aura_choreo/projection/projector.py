"""Projecting core sequences onto one role (SPEC §3.3), the rules of projection per statement.

Choices must be completed first (`projection.notify`): a choice a role cannot follow raises
`NotProjectable`. Entry points that complete and then project are in `projection.project`.
"""

from __future__ import annotations

from functools import partial

from aura_choreo.errors import AuraChoreoError
from aura_choreo.projection import local_types as lt
from aura_choreo.projection.merge import merge
from aura_choreo.projection.unfold import POINT, unfolded_merge
from aura_choreo.semantics import core
from aura_choreo.semantics.actors import involved_roles, rec_bodies
from aura_choreo.semantics.structure import waiters


class NotProjectable(AuraChoreoError):
    """A choice that a role cannot follow reached projection (callers complete choices first)."""


ChoiceKey = tuple[object, str, str, str]
"""A choice statement's identity across rewrites (completion replaces the objects): span, decider, name,
construct."""


def choice_key(stmt: core.Choice) -> ChoiceKey:
    return (stmt.span, stmt.decider, stmt.name, stmt.construct)


class Projector:
    """Projects core sequences onto roles; knows which roles each `rec` involves."""

    def __init__(self, body: core.CoreSeq, roles: tuple[str, ...] = ()):
        self.order = {role: index for index, role in enumerate(roles)}
        self.recs = rec_bodies(body)
        self.rec_roles = {label: involved_roles(rec_body, self.recs) for label, rec_body in self.recs.items()}
        self.tail_recs = _tail_recs(body)
        self.rests = _rec_rests(body)
        self._point: ChoiceKey | None = None
        self._fresh: dict[str, int] = {}
        self._absorbed: set[tuple[str, str]] = set()
        """(rec label, role): the rec's projection holds what follows it (see `follow`)."""

    def seq(self, seq: core.CoreSeq, role: str) -> lt.LocalSeq:
        out: list[lt.LocalStep] = []
        for stmt in seq:
            if isinstance(stmt, core.Rec):
                self._absorbed.discard((stmt.label, role))
            out.extend(self.stmt(stmt, role))
            if isinstance(stmt, core.Rec) and (stmt.label, role) in self._absorbed:
                break  # every way out of the rec already continues with the rest
        return tuple(out)

    def stmt(self, stmt: core.CoreStmt, role: str) -> lt.LocalSeq:
        if self._point is not None and isinstance(stmt, core.Choice) and choice_key(stmt) == self._point:
            return (lt.Continue(POINT),)
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
            return self._choice(stmt, role)
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

    def _choice(self, stmt: core.Choice, role: str) -> lt.LocalSeq:
        bodies = [self.seq(b.body, role) for b in stmt.branches]
        if role == stmt.decider:
            branches = tuple(
                lt.Branch(b.label, body, b.guard) for b, body in zip(stmt.branches, bodies, strict=True)
            )
            return (lt.Choose(branches, stmt.name, stmt.expr, span=stmt.span),)
        if not bodies:
            return ()
        merged = self.follow(stmt, role, bodies)
        if merged is None:
            raise NotProjectable(
                f"role `{role}` cannot tell which branch of the choice by `{stmt.decider}` "
                f"at line {stmt.span.line} was taken"
            )
        return merged

    def follow(self, stmt: core.Choice, role: str, bodies: list[lt.LocalSeq]) -> lt.LocalSeq | None:
        """How `role`, which does not decide `stmt`, follows it (its branch projections `bodies`): their
        merge, or, at the end of a `rec` body, their merge on unfolded behaviour; None if it cannot."""
        merged = merge(bodies, stmt.name)
        if merged is not None or self._point is not None:
            return merged
        label = self.tail_recs.get(choice_key(stmt))
        if label is None or role not in self.rec_roles.get(label, ()):
            return None
        self._point = choice_key(stmt)
        try:
            rec_body = self.seq(self.recs[label], role)
        except NotProjectable:
            return None
        finally:
            self._point = None
        fresh = partial(self._fresh_label, label, role)
        merged = unfolded_merge(bodies, label, rec_body, fresh, stmt.name)
        if merged is not None or label not in self.rests or stmt.construct != "choice":
            return merged
        # A branch that leaves the rec may be told apart by what follows the rec: merge with it, and
        # the rec's projection then holds the rest (`seq` stops after it). Not for a decided or custom
        # loop's own continue/stop decision, which keeps its loop message (projection.notify).
        try:
            after = self.seq(self.rests[label], role)
        except NotProjectable:
            return None
        merged = unfolded_merge(bodies, label, rec_body, fresh, stmt.name, after) if after else None
        if merged is not None:
            self._absorbed.add((label, role))
        return merged

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


def _tail_recs(body: core.CoreSeq) -> dict[ChoiceKey, str]:
    """Choices that end the body of a `rec` (through enclosing choices), mapped to its label. A choice
    whose key appears in two places (an inlined sub-protocol) is left out."""
    found: dict[ChoiceKey, str] = {}
    seen: set[ChoiceKey] = set()

    def visit(seq: core.CoreSeq, rec: str | None) -> None:
        for index, stmt in enumerate(seq):
            tail = rec if index == len(seq) - 1 else None
            if isinstance(stmt, core.Choice):
                key = choice_key(stmt)
                if key in seen:
                    found.pop(key, None)
                elif tail is not None:
                    found[key] = tail
                seen.add(key)
            if isinstance(stmt, core.Rec):
                visit(stmt.body, stmt.label)
            elif isinstance(stmt, core.Choice | core.Conditional):
                for branch in stmt.branches:
                    visit(branch.body, tail)
            else:
                for child in core.children(stmt):
                    visit(child, None)

    visit(body, None)
    return found


def _rec_rests(body: core.CoreSeq) -> dict[str, core.CoreSeq]:
    """For each `rec` followed by statements in its sequence: those statements."""
    rests: dict[str, core.CoreSeq] = {}

    def visit(seq: core.CoreSeq) -> None:
        for index, stmt in enumerate(seq):
            if isinstance(stmt, core.Rec) and index < len(seq) - 1:
                rests[stmt.label] = seq[index + 1 :]
            for child in core.children(stmt):
                visit(child)

    visit(body)
    return rests
