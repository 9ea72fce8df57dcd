"""Role-name checks right after parsing: E010 undefined role, E011 duplicate role, E013 index out of range.

Roles in scope are the choreography's declared roles, plus the parameters of an enclosing nested
`protocol Sub(X, Y) { ... }`. Callee names (E020) and argument counts (E022) are semantics' business.
"""

from __future__ import annotations

from collections.abc import Iterator

from aura_choreo.diagnostics import Diagnostic, Span, did_you_mean, error
from aura_choreo.syntax.ast import (
    Barrier,
    Block,
    Broadcast,
    CallProtocol,
    Chain,
    Choice,
    Choreography,
    Exchange,
    IndexRange,
    IndexValue,
    LocalAction,
    Loop,
    Message,
    PayloadField,
    ProtocolDef,
    RoleDecl,
    RoleRef,
    Send,
    SourceFile,
    Stmt,
)
from aura_choreo.syntax.walk import child_blocks


def check_role_names(file: SourceFile) -> list[Diagnostic]:
    """E010, E011 and E013 for every choreography of `file`."""
    diagnostics: list[Diagnostic] = []
    for choreography in file.choreographies:
        diagnostics.extend(_check_choreography(choreography))
    return diagnostics


def role_refs(stmt: Stmt) -> Iterator[RoleRef]:
    """The role references written in `stmt` itself (not in its nested blocks)."""
    if isinstance(stmt, Send):
        yield stmt.sender.role
        yield stmt.receiver.role
    elif isinstance(stmt, Chain):
        yield from (p.role for p in stmt.participants)
    elif isinstance(stmt, Exchange):
        yield stmt.left.role
        yield stmt.right.role
    elif isinstance(stmt, Broadcast):
        yield stmt.sender.role
    elif isinstance(stmt, Choice):
        yield stmt.decider
    elif isinstance(stmt, Loop) and stmt.decider is not None:
        yield stmt.decider
    elif isinstance(stmt, Barrier) and stmt.role is not None:
        yield stmt.role
    elif isinstance(stmt, LocalAction):
        yield stmt.role
    elif isinstance(stmt, CallProtocol) and stmt.args:
        yield from stmt.args


def _check_choreography(choreography: Choreography) -> list[Diagnostic]:
    diagnostics = _duplicates(choreography.roles)
    if not choreography.roles:  # a missing `roles:` is already an error; E010 everywhere would be noise
        return diagnostics
    declared = {role.name: role for role in choreography.roles}
    _check_block(choreography.body, declared, frozenset(), diagnostics)
    return diagnostics


def _duplicates(roles: tuple[RoleDecl, ...]) -> list[Diagnostic]:
    seen: dict[str, RoleDecl] = {}
    diagnostics = []
    for role in roles:
        first = seen.setdefault(role.name, role)
        if first is not role:
            diagnostics.append(
                error(
                    "E011",
                    _name_span(role.span, role.name),
                    f"duplicate role `{role.name}`",
                    f"`{role.name}` is first declared at line {first.span.line}",
                )
            )
    return diagnostics


def _check_block(
    block: Block, declared: dict[str, RoleDecl], params: frozenset[str], out: list[Diagnostic]
) -> None:
    for stmt in block:
        if type(stmt) is Send:  # most statements: the same checks without the generic walk
            # a declared role without an index is fine whatever the scope: `_check_ref` only for others
            sender, receiver = stmt.sender.role, stmt.receiver.role
            if sender.index is not None or sender.name not in declared:
                _check_ref(sender, declared, params, out)
            if receiver.index is not None or receiver.name not in declared:
                _check_ref(receiver, declared, params, out)
            if stmt.message is not None and len(stmt.message.fields) > 1:
                out.extend(_duplicate_fields(stmt.message))
            continue
        inner_params = params
        if isinstance(stmt, (Choice, Loop)):  # the commonest blocks: a decider at most, no message
            decider = stmt.decider
            if decider is not None and (decider.index is not None or decider.name not in declared):
                _check_ref(decider, declared, params, out)
        else:
            for ref in role_refs(stmt):
                _check_ref(ref, declared, params, out)
            message = getattr(stmt, "message", None)
            if isinstance(message, Message) and len(message.fields) > 1:
                out.extend(_duplicate_fields(message))
            if isinstance(stmt, ProtocolDef):
                inner_params = params | frozenset(stmt.params)
                out.extend(_duplicate_params(stmt))
        for inner in child_blocks(stmt):
            _check_block(inner, declared, inner_params, out)


def _duplicate_fields(message: Message) -> list[Diagnostic]:
    """Two payload fields with one name: the receiver could keep only one value (SPEC has no code for
    it; E011, the code of a duplicate declaration, as for a duplicate role)."""
    seen: dict[str, PayloadField] = {}
    out = []
    for item in message.fields:
        if item.name is None:
            continue
        first = seen.setdefault(item.name, item)
        if first is not item:
            out.append(
                error(
                    "E011",
                    item.span,
                    f"duplicate payload field `{item.name}` in `{message.label}`",
                    f"`{item.name}` is already the field at column {first.span.column}; rename one",
                )
            )
    return out


def _duplicate_params(definition: ProtocolDef) -> list[Diagnostic]:
    seen: set[str] = set()
    out = []
    for param in definition.params:
        if param in seen:
            out.append(
                error("E011", definition.span, f"duplicate role parameter `{param}` of `{definition.name}`")
            )
        seen.add(param)
    return out


def _check_ref(
    ref: RoleRef, declared: dict[str, RoleDecl], params: frozenset[str], out: list[Diagnostic]
) -> None:
    if ref.name in params:
        return
    decl = declared.get(ref.name)
    if decl is None:
        candidates = [*declared, *sorted(params)]
        hint = did_you_mean(ref.name, candidates) or _declared_hint(candidates)
        out.append(error("E010", _name_span(ref.span, ref.name), f"undefined role `{ref.name}`", hint))
        return
    if ref.index is None:
        return
    if decl.size is None:
        out.append(
            error(
                "E013",
                ref.span,
                f"`{ref.name}` is not a role family and cannot be indexed",
                f"declare it as a family, e.g. `{ref.name}[3]`, or drop the index",
            )
        )
    elif isinstance(decl.size, int):
        problem = _index_problem(ref, decl.size)
        if problem:
            out.append(
                error(
                    "E013",
                    ref.span,
                    problem,
                    f"`{decl.name}[{decl.size}]` has instances 0 to {decl.size - 1}"
                    if decl.size > 0
                    else f"`{decl.name}[0]` has no instances",
                )
            )


def _index_problem(ref: RoleRef, size: int) -> str:
    index = ref.index
    if isinstance(index, IndexValue) and isinstance(index.value, int):
        if not 0 <= index.value < size:
            return f"index {index.value} is out of range for `{ref.name}` ({size} instances)"
    elif isinstance(index, IndexRange):
        start, stop = index.start, index.stop
        if isinstance(start, int) and not 0 <= start < size:
            return f"range start {start} is out of range for `{ref.name}` ({size} instances)"
        if isinstance(stop, int) and not 0 < stop <= size:
            return f"range end {stop} is out of range for `{ref.name}` ({size} instances)"
        if isinstance(start, int) and isinstance(stop, int) and start >= stop:
            return f"the range {start}..{stop} of `{ref.name}` is empty"
    return ""


def _declared_hint(candidates: list[str]) -> str:
    shown = ", ".join(f"`{c}`" for c in candidates[:8])
    more = ", ..." if len(candidates) > 8 else ""
    return f"roles in scope: {shown}{more}" if candidates else ""


def _name_span(span: Span, name: str) -> Span:
    """Just the name at the start of `span` (not the index or annotations after it)."""
    return Span.point(span.file, span.line, span.column, len(name))
