"""Who acts first in a core sequence (decider inference, saga coordinators, custom loops)."""

from __future__ import annotations

from collections.abc import Mapping

from aura_choreo.semantics import core


def rec_bodies(seq: core.CoreSeq) -> dict[str, core.CoreSeq]:
    """Every `Rec` label of `seq` mapped to its body."""
    return {s.label: s.body for s in core.walk(seq) if isinstance(s, core.Rec)}


def first_actors(
    seq: core.CoreSeq, recs: Mapping[str, core.CoreSeq], _seen: frozenset[str] = frozenset()
) -> frozenset[str]:
    """The roles that may take the first action of `seq` (empty when nobody acts in it).

    `continue L` acts like the start of `L`'s body; `let` is a computation, not an action.
    """
    for stmt in seq:
        found = _first_of(stmt, recs, _seen)
        if found:
            return found
    return frozenset()


def _first_of(stmt: core.CoreStmt, recs: Mapping[str, core.CoreSeq], seen: frozenset[str]) -> frozenset[str]:
    if isinstance(stmt, core.Message):
        return frozenset((stmt.sender,))
    if isinstance(stmt, core.LocalAction):
        return frozenset((stmt.role,))
    if isinstance(stmt, core.Choice):
        return frozenset((stmt.decider,))
    if isinstance(stmt, core.Continue):
        if stmt.label in seen or stmt.label not in recs:
            return frozenset()
        return first_actors(recs[stmt.label], recs, seen | {stmt.label})
    if isinstance(stmt, core.Conditional | core.Parallel):
        result: frozenset[str] = frozenset()
        for child in core.children(stmt):
            result |= first_actors(child, recs, seen)
        return result
    if isinstance(stmt, core.Quorum):
        return frozenset(m.sender for m in stmt.messages)
    if isinstance(stmt, core.Rec):
        return first_actors(stmt.body, recs, seen | {stmt.label})
    if isinstance(stmt, core.CountedLoop | core.Timeout | core.Try):
        return first_actors(stmt.body, recs, seen)
    return frozenset()


def involved_roles(seq: core.CoreSeq, recs: Mapping[str, core.CoreSeq]) -> set[str]:
    """Every role taking part in `seq`, following `continue L` into the body of `L`."""
    found = core.roles_in(seq)
    pending = [s.label for s in core.walk(seq) if isinstance(s, core.Continue)]
    done: set[str] = set()
    while pending:
        label = pending.pop()
        if label in done or label not in recs:
            continue
        done.add(label)
        found |= core.roles_in(recs[label])
        pending.extend(s.label for s in core.walk(recs[label]) if isinstance(s, core.Continue))
    return found
