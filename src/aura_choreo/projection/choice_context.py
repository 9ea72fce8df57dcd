"""Where a choice stands in the global body: what the merge on unfolded behaviour may look at (SPEC §3.4).

A role that cannot follow a choice as written may still tell its branches apart by what it does next:
the statements after the choice in its sequence, the body of a `rec` the sequence ends (through
`continue`), and what follows that `rec`. These functions find those places in the core body; the merge
itself is `projection.unfold`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aura_choreo.semantics import core

ChoiceKey = tuple[object, str, str, str]
"""A choice statement's identity across rewrites (completion replaces the objects): span, decider, name,
construct."""


def choice_key(stmt: core.Choice) -> ChoiceKey:
    return (stmt.span, stmt.decider, stmt.name, stmt.construct)


@dataclass(frozen=True)
class Places:
    """Where the choices and recs of a body stand (one walk of the body, `places`)."""

    chains: Mapping[ChoiceKey, tuple[str, ...]]
    """For each choice whose sequence ends the body of a `rec` (through enclosing choices that end their
    own sequences): that rec's label, then those of the recs it ends in turn, innermost first. Falling
    off the end of the choice's sequence leaves all of them. A choice whose key appears in two places
    (an inlined sub-protocol) is left out."""
    rests: Mapping[str, core.CoreSeq]
    """For each `rec` followed by statements in its sequence: those statements."""
    unique: frozenset[ChoiceKey]
    """The keys of the choices found in one place only."""


def places(body: core.CoreSeq) -> Places:
    chains: dict[ChoiceKey, tuple[str, ...]] = {}
    rests: dict[str, core.CoreSeq] = {}
    seen: set[ChoiceKey] = set()
    twice: set[ChoiceKey] = set()

    def visit(seq: core.CoreSeq, chain: tuple[str, ...]) -> None:
        last = len(seq) - 1
        for index, stmt in enumerate(seq):
            tail = chain if index == last else ()
            if isinstance(stmt, core.Choice):
                key = choice_key(stmt)
                if key in seen:
                    twice.add(key)
                seen.add(key)
                if chain:
                    chains[key] = chain
            if isinstance(stmt, core.Rec):
                if index < last:
                    rests[stmt.label] = seq[index + 1 :]
                visit(stmt.body, (stmt.label, *tail))
            elif isinstance(stmt, core.Choice | core.Conditional):
                for branch in stmt.branches:
                    visit(branch.body, tail)
            else:
                for child in core.children(stmt):
                    visit(child, ())

    visit(body, ())
    for key in twice:
        chains.pop(key, None)
    return Places(chains, rests, frozenset(seen - twice))


def leaves_only_through(seq: core.CoreSeq, key: ChoiceKey) -> bool:
    """Whether every way through `seq` either passes through the choice `key` (in `seq` itself or in the
    tail of its branches) or ends in a `continue`: then a rec with body `seq` is only ever left through
    that choice, and a merge that holds what follows the rec on the choice's ways out holds it on all."""
    if not seq:
        return False
    if any(isinstance(s, core.Choice) and choice_key(s) == key for s in seq):
        return True
    last = seq[-1]
    if isinstance(last, core.Continue):
        return True
    if isinstance(last, core.Choice | core.Conditional):
        return all(leaves_only_through(b.body, key) for b in last.branches)
    if isinstance(last, core.Rec):
        return leaves_only_through(last.body, key)
    return False
