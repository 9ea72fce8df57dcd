"""Eliminating `break`: loops become `rec` whose non-breaking paths end in `continue`.

Statements that follow a statement that may break move into its non-breaking branches, so local
types need no break operation (SPEC §3.3).
"""

from __future__ import annotations

from dataclasses import replace

from aura_choreo.diagnostics import Diagnostic, error, warning
from aura_choreo.semantics import core


def may_break(stmt: core.CoreStmt) -> bool:
    """Whether `stmt` contains a `break` of the loop being restructured (not of an inner loop)."""
    if isinstance(stmt, core.Break):
        return True
    if isinstance(stmt, core.Choice | core.Conditional | core.Parallel | core.Timeout | core.Try):
        return any(may_break(s) for child in core.children(stmt) for s in child)
    return False


def seq_may_break(seq: core.CoreSeq) -> bool:
    return any(may_break(s) for s in seq)


def restructure(
    seq: core.CoreSeq, on_end: core.CoreSeq, diagnostics: list[Diagnostic], *, top: bool = True
) -> core.CoreSeq:
    """`seq` with every break turned into "leave" and `on_end` appended to every path that completes.

    `top`: `seq` is the loop body itself, where a `break` is E050 (SPEC §1.6: it must sit inside a
    choice, `if` or `match`; directly in the body the loop could never run twice).
    """
    for position, stmt in enumerate(seq):
        if not may_break(stmt):
            continue
        head = seq[:position]
        rest = seq[position + 1 :]
        if isinstance(stmt, core.Break) and top:
            diagnostics.append(
                error(
                    "E050",
                    stmt.span,
                    "`break` directly in a loop body: the loop would always stop after one pass",
                    "put the `break` inside a choice, `if` or `match`, or drop the loop",
                )
            )
            return head
        if isinstance(stmt, core.Break):
            if rest:
                diagnostics.append(
                    warning(
                        "W103",
                        rest[0].span,
                        "statement unreachable: it follows a `break`",
                        "remove it or move it before the `break`",
                    )
                )
            return head
        if isinstance(stmt, core.Choice | core.Conditional):
            continuation = restructure(rest, on_end, diagnostics, top=top)
            branches = tuple(
                replace(b, body=restructure(b.body, continuation, diagnostics, top=False))
                for b in stmt.branches
            )
            return (*head, replace(stmt, branches=branches))
        diagnostics.append(
            error(
                "E050",
                stmt.span,
                "`break` must sit inside a choice, `if` or `match` of the loop body",
                "a `break` inside `parallel`, `timeout` or `try` cannot leave the loop",
            )
        )
        return seq + on_end
    if seq and isinstance(seq[-1], core.Continue):
        return seq  # the path jumps back: nothing after it runs
    return seq + on_end


def can_fall_through(seq: core.CoreSeq) -> bool:
    """Whether some path through `seq` reaches its end (one that ends in `continue` does not)."""
    for stmt in seq:
        if isinstance(stmt, core.Continue):
            return False
        if isinstance(stmt, core.Choice | core.Conditional):
            if stmt.branches and not any(can_fall_through(b.body) for b in stmt.branches):
                return False
        elif isinstance(stmt, core.Rec):
            if not can_fall_through(stmt.body):
                return False
        elif isinstance(stmt, core.Timeout):
            if not (can_fall_through(stmt.body) or can_fall_through(stmt.alt)):
                return False
        elif isinstance(stmt, core.Try):
            if not (can_fall_through(stmt.body) or can_fall_through(stmt.comp)):
                return False
        elif isinstance(stmt, core.Parallel):
            if not all(can_fall_through(b) for b in stmt.branches):
                return False
    return True
