"""The canonical layout of a file: `parse(format_source(f)) == f` (spans aside) for any parsed file.

Four-space indentation, one statement per line ending in `;` (blocks end in `}`), annotations before
a statement on their own line as `[@key = value]`, a send whose sender's annotations make it too
long split as in the reference documents. Given the source's comments (`collect_comments`), each
one is put back before the statement it preceded (or sat inside, for a statement split over lines),
or after the statement whose last line it sat on; runs of blank lines between statements become one.
"""

from __future__ import annotations

from collections.abc import Sequence

from aura_choreo.syntax.ast import (
    Barrier,
    Block,
    Break,
    Broadcast,
    CallProtocol,
    Chain,
    Choice,
    Choreography,
    Continue,
    Exchange,
    Expr,
    For,
    If,
    Let,
    LocalAction,
    Loop,
    Match,
    NamedBlock,
    Parallel,
    ProtocolDef,
    Rec,
    Send,
    SourceFile,
    Stmt,
    Timeout,
    Try,
)
from aura_choreo.syntax.formatter import (
    format_annotation,
    format_expression,
    format_message,
    format_participant,
    format_role_decl,
    format_role_ref,
    message_suffix,
    quote,
)
from aura_choreo.syntax.tokens import Comment

INDENT = "    "
MAX_WIDTH = 100


def format_source(file: SourceFile, comments: Sequence[Comment] = ()) -> str:
    """The whole file in canonical form, ending with one newline, with `comments` put back."""
    layout = _Layout(comments)
    parts: list[str] = []
    if file.imports:
        lines: list[str] = []
        for i in file.imports:
            lines.extend(layout.leading(i.span.line, ""))
            lines.extend(layout.trailing([f"import {quote(i.path)};"], i.span.end_line)[0])
        parts.append("\n".join(lines))
    parts.extend(layout.choreography(c) for c in file.choreographies)
    rest = layout.rest()
    if rest:
        parts.append("\n".join(rest))
    return "\n\n".join(parts) + "\n" if parts else ""


def format_choreography(choreography: Choreography) -> str:
    """One choreography: its protocol annotations, header, roles and body."""
    return _Layout(()).choreography(choreography)


def format_statement(stmt: Stmt, depth: int = 0) -> str:
    """One statement (with its annotations and nested blocks) at indentation `depth`."""
    return "\n".join(_Layout(()).statement(stmt, depth))


class _Layout:
    """One formatting run: the comments not yet placed, in source order."""

    def __init__(self, comments: Sequence[Comment]) -> None:
        self.comments = sorted(comments)
        self.next = 0

    # ------------------------------------------------------------ comments

    def _take(self, last_line: int) -> list[Comment]:
        """The comments not placed yet that start on or before `last_line`."""
        start = self.next
        while self.next < len(self.comments) and self.comments[self.next].line <= last_line:
            self.next += 1
        return self.comments[start : self.next]

    def leading(self, line: int, pad: str) -> list[str]:
        """Comments written before `line`, one per line."""
        return [pad + c.text for c in self._take(line - 1)]

    def trailing(self, lines: list[str], last_line: int) -> tuple[list[str], int]:
        """`lines` with the comments written up to `last_line` appended to the last of them, and the
        source line where the last of those comments ends (`last_line` when there are none)."""
        taken = self._take(last_line)
        if not taken:
            return lines, last_line
        end = last_line
        while taken[-1].end_line > end:  # a block comment running on: what follows it on its last line
            end = taken[-1].end_line
            taken += self._take(end)
        return [*lines[:-1], "  ".join([lines[-1], *(c.text for c in taken)])], end

    def rest(self) -> list[str]:
        return [c.text for c in self._take(10**12)]

    # ------------------------------------------------------------ choreographies and blocks

    def choreography(self, choreography: Choreography) -> str:
        lines = self.leading(choreography.span.line, "")
        if choreography.namespace is not None:
            lines.append(f"#[namespace = {quote(choreography.namespace)}]")
        if choreography.annotations:
            entries = ", ".join(
                format_annotation(a, at=False, bare_flags=True) for a in choreography.annotations
            )
            lines.append(f"#[{entries}]")
        lines.append(f"choreography {choreography.name} {{")
        roles = [f"{INDENT}roles: {', '.join(format_role_decl(r) for r in choreography.roles)};"]
        if choreography.roles:  # comments up to the roles go before them; those on their last line, after
            lines.extend(self.leading(choreography.roles[-1].span.end_line, INDENT))
            roles = self.trailing(roles, choreography.roles[-1].span.end_line)[0]
        lines.extend(roles)
        body = self.block(choreography.body, 1, choreography.span.end_line)
        if body:
            lines.append("")
            lines.extend(body)
        lines.append("}")
        return "\n".join(self.trailing(lines, choreography.span.end_line)[0])

    def block(self, block: Block, depth: int, close_line: int | None = None) -> list[str]:
        """The statements of `block`; comments before `close_line` (its `}`) stay inside it."""
        pad = INDENT * depth
        lines: list[str] = []
        previous_end: int | None = None
        for stmt in block:
            start = stmt.annotations[0].span.line if stmt.annotations else stmt.span.line
            leading = self.leading(start, pad)
            first_line = self.comments[self.next - len(leading)].line if leading else start
            if previous_end is not None and first_line > previous_end + 1:
                lines.append("")  # the source had blank lines here
            lines.extend(leading)
            if _simple_statement(stmt) is not None:  # comments inside a statement split over lines
                lines.extend(self.leading(stmt.span.end_line, pad))
            statement, previous_end = self.trailing(self.statement(stmt, depth), stmt.span.end_line)
            lines.extend(statement)
        if close_line is not None:
            closing = self.leading(close_line, pad)
            if (
                closing
                and previous_end is not None
                and self.comments[self.next - len(closing)].line > previous_end + 1
            ):
                lines.append("")
            lines.extend(closing)
        return lines

    def braced(self, head: str, block: Block, depth: int, close_line: int | None) -> list[str]:
        """`head {`, the block one level deeper, then `}`."""
        pad = INDENT * depth
        return [f"{pad}{head} {{", *self.block(block, depth + 1, close_line), f"{pad}}}"]

    # ------------------------------------------------------------ statements

    def statement(self, stmt: Stmt, depth: int) -> list[str]:
        pad = INDENT * depth
        lines: list[str] = []
        if stmt.annotations:
            lines.append(f"{pad}[{', '.join(format_annotation(a, at=True) for a in stmt.annotations)}]")
        simple = _simple_statement(stmt)
        if isinstance(stmt, Send) and stmt.sender.annotations and len(pad) + len(simple or "") > MAX_WIDTH:
            lines.extend(_long_send_lines(stmt, pad))
        elif simple is not None:
            lines.append(f"{pad}{simple};")
        else:
            lines.extend(self.compound(stmt, depth))
        return lines

    def compound(self, stmt: Stmt, depth: int) -> list[str]:
        pad = INDENT * depth
        end = stmt.span.end_line
        if isinstance(stmt, Choice):
            lines = [f"{pad}choice {format_role_ref(stmt.decider)} {{"]
            for branch in stmt.branches:
                guard = "" if branch.guard is None else f" when {format_expression(branch.guard)}"
                lines.extend(self.leading(branch.span.line, pad + INDENT))
                lines.extend(
                    self.braced(f"{branch.label}{guard}:", branch.body, depth + 1, branch.span.end_line)
                )
            return [*lines, *self.leading(end, pad + INDENT), f"{pad}}}"]
        if isinstance(stmt, Match):
            lines = [f"{pad}match {_head_expression(stmt.subject)} {{"]
            for arm in stmt.arms:
                lines.extend(self.leading(arm.span.line, pad + INDENT))
                lines.extend(self.braced(f"{arm.pattern} =>", arm.body, depth + 1, arm.span.end_line))
            return [*lines, *self.leading(end, pad + INDENT), f"{pad}}}"]
        if isinstance(stmt, If):
            return self.if_lines(stmt, depth)
        if isinstance(stmt, Loop):
            return self.braced(_loop_head(stmt), stmt.body, depth, end)
        if isinstance(stmt, For):
            head = f"for {stmt.var} in {format_expression(stmt.start)}..{format_expression(stmt.stop)}"
            return self.braced(head, stmt.body, depth, end)
        if isinstance(stmt, Rec):
            return self.braced(f"rec {stmt.label}", stmt.body, depth, end)
        if isinstance(stmt, Parallel):
            return self.parallel_lines(stmt, depth)
        if isinstance(stmt, ProtocolDef):
            params = f"({', '.join(stmt.params)})" if stmt.params else ""
            return self.braced(f"protocol {stmt.name}{params}", stmt.body, depth, end)
        if isinstance(stmt, NamedBlock):
            return self.braced(f"sub_protocol {stmt.name}", stmt.body, depth, end)
        if isinstance(stmt, Timeout):
            head = f"timeout({format_expression(stmt.deadline)})"
            if not stmt.alt:
                return self.braced(head, stmt.body, depth, end)
            body = self.braced(head, stmt.body, depth, None)
            return [*body[:-1], f"{pad}}} or {{", *self.block(stmt.alt, depth + 1, end), f"{pad}}}"]
        if isinstance(stmt, Try):
            body = self.braced("try", stmt.body, depth, None)
            comp = self.block(stmt.compensate, depth + 1, end)
            return [*body[:-1], f"{pad}}} compensate {{", *comp, f"{pad}}}"]
        raise TypeError(f"cannot format {type(stmt).__name__}")  # a new Stmt subclass without a printer

    def if_lines(self, stmt: If, depth: int) -> list[str]:
        pad = INDENT * depth
        else_body = stmt.else_body
        then_close = stmt.span.end_line if else_body is None else None
        lines = self.braced(f"if {_head_expression(stmt.condition)}", stmt.then_body, depth, then_close)
        if else_body is None:
            return lines
        if len(else_body) == 1 and isinstance(else_body[0], If) and not else_body[0].annotations:
            nested = self.if_lines(else_body[0], depth)
            return [*lines[:-1], f"{pad}}} else {nested[0].lstrip()}", *nested[1:]]
        body = self.block(else_body, depth + 1, stmt.span.end_line)
        return [*lines[:-1], f"{pad}}} else {{", *body, f"{pad}}}"]

    def parallel_lines(self, stmt: Parallel, depth: int) -> list[str]:
        pad = INDENT * depth
        lines = [f"{pad}parallel {{"]
        last = len(stmt.branches) - 1
        separated = not all(len(branch) == 1 for branch in stmt.branches)
        for i, branch in enumerate(stmt.branches):
            if separated and i:
                lines.append(f"{pad}{INDENT}|")
            lines.extend(self.block(branch, depth + 1, stmt.span.end_line if i == last else None))
        return [*lines, f"{pad}}}"]


def _simple_statement(stmt: Stmt) -> str | None:
    """The one-line text of a statement without a block, or None for a compound statement."""
    if isinstance(stmt, Send):
        sender, receiver = format_participant(stmt.sender), format_participant(stmt.receiver)
        return f"{sender} -> {receiver}{message_suffix(stmt.message)}"
    if isinstance(stmt, Chain):
        return " -> ".join(format_participant(p) for p in stmt.participants) + message_suffix(stmt.message)
    if isinstance(stmt, Exchange):
        left, right = format_participant(stmt.left), format_participant(stmt.right)
        return f"{left} <-> {right}{message_suffix(stmt.message)}"
    if isinstance(stmt, Broadcast):
        return f"{format_participant(stmt.sender)} ->* : {format_message(stmt.message)}"
    if isinstance(stmt, Break):
        return "break"
    if isinstance(stmt, Continue):
        return f"continue {stmt.label}"
    if isinstance(stmt, Barrier):
        return "barrier" if stmt.role is None else f"barrier({format_role_ref(stmt.role)})"
    if isinstance(stmt, LocalAction):
        args = ", ".join(format_expression(a) for a in stmt.args)
        return f"{format_role_ref(stmt.role)}: {stmt.action}({args})"
    if isinstance(stmt, Let):
        return f"let {stmt.name} = {format_expression(stmt.value)}"
    if isinstance(stmt, CallProtocol):
        keyword = stmt.keyword if stmt.keyword in ("call", "compose") else "call"
        if stmt.args is None:
            return f"{keyword} {stmt.name}"
        return f"{keyword} {stmt.name}({', '.join(format_role_ref(a) for a in stmt.args)})"
    return None


def _long_send_lines(stmt: Send, pad: str) -> list[str]:
    """A send whose sender carries long annotations, laid out as in the reference documents:
    one annotation per line, then `-> Receiver: Message;` on its own line."""
    sender = stmt.sender
    head = f"{pad}{format_role_ref(sender.role)}["
    entries = [format_annotation(a, at=False) for a in sender.annotations]
    lines = [head + entries[0]]
    lines.extend(" " * len(head) + entry for entry in entries[1:])
    lines = [line + "," for line in lines[:-1]] + [lines[-1] + "]"]
    receiver = format_participant(stmt.receiver)
    return [*lines, f"{pad}-> {receiver}{message_suffix(stmt.message)};"]


def _loop_head(stmt: Loop) -> str:
    if stmt.kind == "count" and stmt.count is not None:
        return f"loop (count: {format_expression(stmt.count)})"
    if stmt.kind == "decides" and stmt.decider is not None:
        return f"loop (decides: {format_role_ref(stmt.decider)})"
    if stmt.kind == "custom":
        return f"loop (custom: {quote(stmt.condition or '')})"
    return "loop"


def _head_expression(expr: Expr) -> str:
    """An expression before a `{`: a leading `[` would read as a role index, so a list gets parentheses."""
    text = format_expression(expr)
    return f"({text})" if text.startswith("[") else text
