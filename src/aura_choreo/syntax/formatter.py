"""The canonical pretty-printer: `parse(format_source(f)) == f` (spans aside) for any parsed file.

Canonical form: four-space indentation, one statement per line ending in `;` (blocks end in `}`),
annotations before a statement on their own line as `[@key = value]`, durations in their largest
exact unit, `&&`/`||`/`!` spelled `and`/`or`/`not`, and only the parentheses precedence needs.
"""

from __future__ import annotations

from aura_choreo.syntax.ast import (
    Annotation,
    AnnotationArgs,
    AnnotationValue,
    Attribute,
    Barrier,
    BinOp,
    Block,
    Break,
    Broadcast,
    Call,
    CallProtocol,
    Chain,
    Choice,
    Choreography,
    Continue,
    Duration,
    Exchange,
    Expr,
    For,
    Ident,
    If,
    Index,
    IndexAll,
    IndexRange,
    IndexValue,
    Let,
    ListExpr,
    Literal,
    LocalAction,
    Loop,
    Match,
    Message,
    Name,
    NamedBlock,
    Parallel,
    Participant,
    PayloadField,
    ProtocolDef,
    Rec,
    RoleDecl,
    RoleRef,
    Send,
    SourceFile,
    Stmt,
    Timeout,
    Try,
    TypeExpr,
    TypeRef,
    UnaryOp,
)

INDENT = "    "
MAX_WIDTH = 100


def format_source(file: SourceFile) -> str:
    """The whole file in canonical form, ending with one newline."""
    parts: list[str] = []
    if file.imports:
        parts.append("\n".join(f"import {quote(i.path)};" for i in file.imports))
    parts.extend(format_choreography(c) for c in file.choreographies)
    return "\n\n".join(parts) + "\n" if parts else ""


def format_choreography(choreography: Choreography) -> str:
    """One choreography: its protocol annotations, header, roles and body."""
    lines: list[str] = []
    if choreography.namespace is not None:
        lines.append(f"#[namespace = {quote(choreography.namespace)}]")
    if choreography.annotations:
        entries = ", ".join(_annotation(a, at=False, bare_flags=True) for a in choreography.annotations)
        lines.append(f"#[{entries}]")
    lines.append(f"choreography {choreography.name} {{")
    lines.append(f"{INDENT}roles: {', '.join(format_role_decl(r) for r in choreography.roles)};")
    if choreography.body:
        lines.append("")
        lines.extend(_block_lines(choreography.body, 1))
    lines.append("}")
    return "\n".join(lines)


def format_role_decl(role: RoleDecl) -> str:
    """`A`, `Workers[3]`, `Followers[N]`, `Signers[*]`."""
    return role.name if role.size is None else f"{role.name}[{role.size}]"


# ---------------------------------------------------------------- statements


def format_statement(stmt: Stmt, depth: int = 0) -> str:
    """One statement (with its annotations and nested blocks) at indentation `depth`."""
    return "\n".join(_statement_lines(stmt, depth))


def _block_lines(block: Block, depth: int) -> list[str]:
    lines: list[str] = []
    for stmt in block:
        lines.extend(_statement_lines(stmt, depth))
    return lines


def _braced(head: str, block: Block, depth: int, tail: str = "") -> list[str]:
    """`head {`, the block one level deeper, then `}` followed by `tail`."""
    pad = INDENT * depth
    return [f"{pad}{head} {{", *_block_lines(block, depth + 1), f"{pad}}}{tail}"]


def _statement_lines(stmt: Stmt, depth: int) -> list[str]:
    pad = INDENT * depth
    lines: list[str] = []
    if stmt.annotations:
        lines.append(f"{pad}[{', '.join(_annotation(a, at=True) for a in stmt.annotations)}]")
    simple = _simple_statement(stmt)
    if isinstance(stmt, Send) and stmt.sender.annotations and len(pad) + len(simple or "") > MAX_WIDTH:
        lines.extend(_long_send_lines(stmt, pad))
    elif simple is not None:
        lines.append(f"{pad}{simple};")
    else:
        lines.extend(_compound_lines(stmt, depth))
    return lines


def _long_send_lines(stmt: Send, pad: str) -> list[str]:
    """A send whose sender carries long annotations, laid out as in the reference documents:
    one annotation per line, then `-> Receiver: Message;` on its own line."""
    sender = stmt.sender
    head = f"{pad}{format_role_ref(sender.role)}["
    entries = [_annotation(a, at=False) for a in sender.annotations]
    lines = [head + entries[0]]
    lines.extend(" " * len(head) + entry for entry in entries[1:])
    lines = [line + "," for line in lines[:-1]] + [lines[-1] + "]"]
    receiver = _participant(stmt.receiver)
    return [*lines, f"{pad}-> {receiver}{_message_suffix(stmt.message)};"]


def _simple_statement(stmt: Stmt) -> str | None:
    if isinstance(stmt, Send):
        return f"{_participant(stmt.sender)} -> {_participant(stmt.receiver)}{_message_suffix(stmt.message)}"
    if isinstance(stmt, Chain):
        chain = " -> ".join(_participant(p) for p in stmt.participants)
        return chain + _message_suffix(stmt.message)
    if isinstance(stmt, Exchange):
        return f"{_participant(stmt.left)} <-> {_participant(stmt.right)}{_message_suffix(stmt.message)}"
    if isinstance(stmt, Broadcast):
        return f"{_participant(stmt.sender)} ->* : {format_message(stmt.message)}"
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


def _compound_lines(stmt: Stmt, depth: int) -> list[str]:
    pad = INDENT * depth
    if isinstance(stmt, Choice):
        lines = [f"{pad}choice {format_role_ref(stmt.decider)} {{"]
        for branch in stmt.branches:
            guard = "" if branch.guard is None else f" when {format_expression(branch.guard)}"
            lines.extend(_braced(f"{branch.label}{guard}:", branch.body, depth + 1))
        return [*lines, f"{pad}}}"]
    if isinstance(stmt, Match):
        lines = [f"{pad}match {_head_expression(stmt.subject)} {{"]
        for arm in stmt.arms:
            lines.extend(_braced(f"{arm.pattern} =>", arm.body, depth + 1))
        return [*lines, f"{pad}}}"]
    if isinstance(stmt, If):
        return _if_lines(stmt, depth)
    if isinstance(stmt, Loop):
        return _braced(_loop_head(stmt), stmt.body, depth)
    if isinstance(stmt, For):
        head = f"for {stmt.var} in {format_expression(stmt.start)}..{format_expression(stmt.stop)}"
        return _braced(head, stmt.body, depth)
    if isinstance(stmt, Rec):
        return _braced(f"rec {stmt.label}", stmt.body, depth)
    if isinstance(stmt, Parallel):
        return _parallel_lines(stmt, depth)
    if isinstance(stmt, ProtocolDef):
        params = f"({', '.join(stmt.params)})" if stmt.params else ""
        return _braced(f"protocol {stmt.name}{params}", stmt.body, depth)
    if isinstance(stmt, NamedBlock):
        return _braced(f"sub_protocol {stmt.name}", stmt.body, depth)
    if isinstance(stmt, Timeout):
        head = f"timeout({format_expression(stmt.deadline)})"
        if not stmt.alt:
            return _braced(head, stmt.body, depth)
        body = _braced(head, stmt.body, depth)
        return [*body[:-1], f"{pad}}} or {{", *_block_lines(stmt.alt, depth + 1), f"{pad}}}"]
    if isinstance(stmt, Try):
        body = _braced("try", stmt.body, depth)
        return [*body[:-1], f"{pad}}} compensate {{", *_block_lines(stmt.compensate, depth + 1), f"{pad}}}"]
    raise TypeError(f"cannot format {type(stmt).__name__}")  # a new Stmt subclass without a printer


def _if_lines(stmt: If, depth: int) -> list[str]:
    pad = INDENT * depth
    lines = _braced(f"if {_head_expression(stmt.condition)}", stmt.then_body, depth)
    else_body = stmt.else_body
    if else_body is None:
        return lines
    if len(else_body) == 1 and isinstance(else_body[0], If) and not else_body[0].annotations:
        nested = _if_lines(else_body[0], depth)
        return [*lines[:-1], f"{pad}}} else {nested[0].lstrip()}", *nested[1:]]
    return [*lines[:-1], f"{pad}}} else {{", *_block_lines(else_body, depth + 1), f"{pad}}}"]


def _loop_head(stmt: Loop) -> str:
    if stmt.kind == "count" and stmt.count is not None:
        return f"loop (count: {format_expression(stmt.count)})"
    if stmt.kind == "decides" and stmt.decider is not None:
        return f"loop (decides: {format_role_ref(stmt.decider)})"
    if stmt.kind == "custom":
        return f"loop (custom: {quote(stmt.condition or '')})"
    return "loop"


def _parallel_lines(stmt: Parallel, depth: int) -> list[str]:
    pad = INDENT * depth
    lines = [f"{pad}parallel {{"]
    if all(len(branch) == 1 for branch in stmt.branches):
        for branch in stmt.branches:
            lines.extend(_block_lines(branch, depth + 1))
    else:
        for i, branch in enumerate(stmt.branches):
            if i:
                lines.append(f"{pad}{INDENT}|")
            lines.extend(_block_lines(branch, depth + 1))
    return [*lines, f"{pad}}}"]


def _head_expression(expr: Expr) -> str:
    """An expression before a `{`: a leading `[` would read as a role index, so a list gets parentheses."""
    text = format_expression(expr)
    return f"({text})" if text.startswith("[") else text


# ---------------------------------------------------------------- roles, messages, types


def format_role_ref(ref: RoleRef) -> str:
    """`R`, `R[0]`, `R[i]`, `R[*]`, `R[a..b]`."""
    index = ref.index
    if index is None:
        return ref.name
    if isinstance(index, IndexAll):
        return f"{ref.name}[*]"
    if isinstance(index, IndexValue):
        return f"{ref.name}[{index.value}]"
    assert isinstance(index, IndexRange)
    return f"{ref.name}[{index.start}..{index.stop}]"


def _participant(participant: Participant) -> str:
    role = format_role_ref(participant.role)
    if not participant.annotations:
        return role
    return f"{role}[{', '.join(_annotation(a, at=False) for a in participant.annotations)}]"


def _message_suffix(message: Message | None) -> str:
    return "" if message is None else f": {format_message(message)}"


def format_message(message: Message) -> str:
    """`Label`, `Label<T>`, `Label(name: Type, ...)`."""
    text = message.label
    if message.type_args:
        text += f"<{', '.join(format_type(t) for t in message.type_args)}>"
    if message.fields:
        text += f"({', '.join(_field(f) for f in message.fields)})"
    return text


def _field(field: PayloadField) -> str:
    if field.type is None:
        return field.name or "_"
    if field.name is None:
        return format_type(field.type)
    return f"{field.name}: {format_type(field.type)}"


def format_type(type_: TypeExpr) -> str:
    """`std::vec::Vec<String>`, `int | None` (generics always in the `<...>` spelling)."""
    if isinstance(type_, TypeRef):
        if not type_.args:
            return type_.name
        return f"{type_.name}<{', '.join(format_type(a) for a in type_.args)}>"
    return " | ".join(format_type(o) for o in type_.options)


# ---------------------------------------------------------------- annotations


def _annotation(annotation: Annotation, *, at: bool, bare_flags: bool = False) -> str:
    """`key = value`, or `@key` for a flag. In `[...]` after a role a flag keeps its `@` (`A[@critical]`)
    so that it cannot read as an index; `journal_merge` stays `= true`, as it is a real boolean."""
    value = annotation.value
    key = annotation.key
    if value is True and key != "journal_merge":
        return key if bare_flags else f"@{key}"
    if isinstance(value, AnnotationArgs):
        return f"{'' if bare_flags else '@'}{key}{format_annotation_value(value)}"
    return f"{'@' if at else ''}{key} = {format_annotation_value(value)}"


def format_annotation_value(value: AnnotationValue) -> str:
    """`"text"`, `5`, `true`, `ident`, `[1, 2]`, `(inline, n = 3)`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, Ident):
        return value.name
    if isinstance(value, AnnotationArgs):
        items = [format_annotation_value(v) for v in value.positional]
        items += [f"{k} = {format_annotation_value(v)}" for k, v in value.named]
        return f"({', '.join(items)})"
    return f"[{', '.join(format_annotation_value(v) for v in value)}]"


# ---------------------------------------------------------------- expressions

_LEVELS = {"or": 1, "and": 2, "not": 3, "==": 4, "!=": 4, "<": 4, ">": 4, "<=": 4, ">=": 4, "in": 4,
           "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}  # fmt: skip
_UNARY_LEVEL = 7
_POSTFIX_LEVEL = 8
_ATOM_LEVEL = 9


def format_expression(expr: Expr) -> str:
    """An expression with only the parentheses precedence needs (`and`/`or`/`not` spelled in words)."""
    return _expression(expr)[0]


def _expression(expr: Expr) -> tuple[str, int]:
    """The text of `expr` and its precedence level (higher binds tighter)."""
    if isinstance(expr, BinOp):
        level = _LEVELS.get(expr.op, 4)
        left = _operand(expr.left, level)
        right = _operand(expr.right, level + 1)
        return f"{left} {expr.op} {right}", level
    if isinstance(expr, UnaryOp):
        if expr.op == "not":
            return f"not {_operand(expr.operand, _LEVELS['not'])}", _LEVELS["not"]
        text = _operand(expr.operand, _UNARY_LEVEL)
        if text[:1].isdigit():  # `-5`, `-5.x` would read as the literal -5 (and its attribute)
            text = f"({text})"
        return f"{expr.op}{text}", _UNARY_LEVEL
    if isinstance(expr, Attribute):
        return f"{_operand(expr.value, _POSTFIX_LEVEL)}.{expr.attr}", _POSTFIX_LEVEL
    if isinstance(expr, Index):
        return f"{_operand(expr.value, _POSTFIX_LEVEL)}[{format_expression(expr.index)}]", _POSTFIX_LEVEL
    if isinstance(expr, Call):
        return f"{expr.func}({', '.join(format_expression(a) for a in expr.args)})", _POSTFIX_LEVEL
    if isinstance(expr, ListExpr):
        return f"[{', '.join(format_expression(i) for i in expr.items)}]", _ATOM_LEVEL
    if isinstance(expr, Duration):
        return format_duration(expr.millis), _ATOM_LEVEL
    if isinstance(expr, Name):
        return expr.name, _ATOM_LEVEL
    if isinstance(expr, Literal):
        return _literal(expr.value), _ATOM_LEVEL
    raise TypeError(f"cannot format {type(expr).__name__}")


def _operand(expr: Expr, minimum: int) -> str:
    text, level = _expression(expr)
    return text if level >= minimum else f"({text})"


def _literal(value: int | str | bool | None) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return quote(value)


def format_duration(millis: int) -> str:
    """The largest exact unit: `90000` -> `90s`, `120000` -> `2m`, `1500` -> `1500ms`."""
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if millis and millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{millis}ms"


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def quote(text: str) -> str:
    """A string literal the lexer reads back as `text`."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif not char.isprintable():
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
