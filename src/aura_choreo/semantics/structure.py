"""Structural checks on the core body: E040 parallel conflicts, E070 timeout/saga structure, W100, W104.

Also fills each saga's coordinator (the first role to act in its compensation, SPEC §4.6).
"""

from __future__ import annotations

from dataclasses import replace

from aura_choreo.diagnostics import Diagnostic, error, warning
from aura_choreo.semantics import core
from aura_choreo.semantics.actors import first_actors, rec_bodies
from aura_choreo.syntax.ast import RoleDecl


def check_parallel(
    body: core.CoreSeq, diagnostics: list[Diagnostic], *, notifications_only: bool = False
) -> None:
    """E040: two branches of one parallel block that use the same (sender, receiver, label).

    With `notifications_only`, only conflicts that involve an inserted choice notification are reported
    (the others were reported before projection).
    """
    for stmt in core.walk(body):
        if not isinstance(stmt, core.Parallel):
            continue
        owners: dict[tuple[str, str, str], int] = {}
        notified: set[tuple[str, str, str]] = set()
        reported: set[tuple[str, str, str]] = set()
        for index, branch in enumerate(stmt.branches):
            messages = list(core.messages_in(branch))
            notified.update((m.sender, m.receiver, m.label) for m in messages if m.notification)
            for m in dict.fromkeys((m.sender, m.receiver, m.label) for m in messages):
                first = owners.setdefault(m, index)
                if first == index or m in reported or (notifications_only and m not in notified):
                    continue
                reported.add(m)
                hint = (
                    f"`{m[1]}` is told of choices by `{m[0]}` in both branches with the same label; "
                    f"give it a distinct first message from `{m[0]}` in each choice's branches"
                    if m in notified
                    else "the receiver could not tell them apart; give the messages distinct labels"
                )
                diagnostics.append(
                    error(
                        "E040",
                        stmt.span,
                        f"parallel branches {first + 1} and {index + 1} both send `{m[2]}` "
                        f"from `{m[0]}` to `{m[1]}`",
                        hint,
                    )
                )


def _triples(seq: core.CoreSeq) -> list[tuple[str, str, str]]:
    return [(m.sender, m.receiver, m.label) for m in core.messages_in(seq)]


def waiters(body: core.CoreSeq) -> list[str]:
    """The roles that receive in a timeout body, in order of first receive."""
    return list(dict.fromkeys(m.receiver for m in core.messages_in(body)))


def check_timeouts(body: core.CoreSeq, diagnostics: list[Diagnostic]) -> None:
    """E070 on a timeout's alternative; W104 on messages that may arrive after their receiver left."""
    for stmt in core.walk(body):
        if not isinstance(stmt, core.Timeout):
            continue
        waiting = set(waiters(stmt.body))
        if not waiting:
            diagnostics.append(
                error(
                    "E070",
                    stmt.span,
                    "timeout body has no receive, so no role waits on the deadline",
                    "put the messages that may be late inside `timeout(...) { ... }`",
                )
            )
        for alt_stmt in stmt.alt:
            _check_alt(alt_stmt, waiting, diagnostics)
        # One W104 per source statement: a family's instances would each get a copy (issue 11 item 20).
        late: dict[tuple[object, str], list[core.Message]] = {}
        for m in core.messages_in(stmt.body):
            if m.receiver in waiting and m.sender not in waiting:
                late.setdefault((m.span, m.label), []).append(m)
        for (_span, label), group in late.items():
            senders = ", ".join(dict.fromkeys(f"`{m.sender}`" for m in group))
            pairs = ", ".join(dict.fromkeys(f"{m.sender} -> {m.receiver}" for m in group))
            receivers = ", ".join(dict.fromkeys(f"`{m.receiver}`" for m in group))
            diagnostics.append(
                warning(
                    "W104",
                    group[0].span,
                    f"`{pairs}: {label}` may arrive after {receivers} timed out; "
                    "it is then discarded (orphan message)",
                    f"{senders} {'does' if len(group) == 1 or senders.count('`') == 2 else 'do'} not wait on"
                    " the deadline; make sure it does not rely on delivery",
                )
            )


def _check_alt(stmt: core.CoreStmt, waiting: set[str], diagnostics: list[Diagnostic]) -> None:
    names = ", ".join(sorted(waiting)) or "none"
    if isinstance(stmt, core.Message):
        if stmt.sender not in waiting or stmt.receiver not in waiting:
            diagnostics.append(
                error(
                    "E070",
                    stmt.span,
                    f"timeout alternative sends `{stmt.label}` from `{stmt.sender}` to `{stmt.receiver}`, "
                    f"but only waiters ({names}) run it",
                    "the alternative may only hold local actions and messages between waiters",
                )
            )
    elif isinstance(stmt, core.LocalAction):
        if stmt.role not in waiting:
            diagnostics.append(
                error(
                    "E070",
                    stmt.span,
                    f"`{stmt.role}` does not wait in the timeout body, so it never runs the alternative",
                    f"only waiters ({names}) run the alternative",
                )
            )
    elif not isinstance(stmt, core.Let):
        diagnostics.append(
            error(
                "E070",
                stmt.span,
                "a timeout alternative may only hold local actions and messages",
                "move the control flow after the timeout block",
            )
        )


def assign_coordinators(body: core.CoreSeq, diagnostics: list[Diagnostic]) -> core.CoreSeq:
    """Every `Try` with its coordinator: the single role acting first in `comp` (E070 otherwise)."""
    recs = rec_bodies(body)

    def visit(seq: core.CoreSeq) -> core.CoreSeq:
        return tuple(visit_stmt(s) for s in seq)

    def visit_stmt(stmt: core.CoreStmt) -> core.CoreStmt:
        if isinstance(stmt, core.Try):
            firsts = first_actors(stmt.comp, recs)
            coordinator = next(iter(firsts)) if len(firsts) == 1 else ""
            if not coordinator:
                diagnostics.append(
                    error(
                        "E070",
                        stmt.span,
                        "the saga has no coordinator: "
                        + (
                            "its compensation is empty"
                            if not firsts
                            else f"several roles act first in its compensation ({', '.join(sorted(firsts))})"
                        ),
                        "start the `compensate` block with a message from the coordinating role",
                    )
                )
            return replace(stmt, body=visit(stmt.body), comp=visit(stmt.comp), coordinator=coordinator)
        return core.map_bodies(stmt, visit)

    return visit(body)


def check_unused_roles(
    decls: tuple[RoleDecl, ...], body: core.CoreSeq, diagnostics: list[Diagnostic]
) -> None:
    """W100: a declared role (or family) that takes part in nothing."""
    used = {r.split("[", 1)[0] for r in core.roles_in(body)}
    for decl in decls:
        if decl.name not in used:
            diagnostics.append(
                warning(
                    "W100",
                    decl.span,
                    f"role `{decl.name}` is declared but never used",
                    "remove it from `roles:` or give it something to do",
                )
            )
