"""Canonical text of the pieces of a statement: roles, messages, types, annotations, expressions.

Durations are printed in their largest exact unit, `&&`/`||`/`!` as `and`/`or`/`not`, with only the
parentheses precedence needs. Statements and files are laid out by `syntax.layout`.
"""

from __future__ import annotations

from aura_choreo.syntax.ast import (
    Annotation,
    AnnotationArgs,
    AnnotationValue,
    Attribute,
    BinOp,
    Call,
    Duration,
    Expr,
    Ident,
    Index,
    IndexAll,
    IndexExpr,
    IndexRange,
    IndexValue,
    ListExpr,
    Literal,
    Message,
    Name,
    Participant,
    PayloadField,
    RoleDecl,
    RoleRef,
    TypeExpr,
    TypeRef,
    UnaryOp,
)

# ---------------------------------------------------------------- roles, messages, types


def format_role_decl(role: RoleDecl) -> str:
    """`A`, `Workers[3]`, `Followers[N]`, `Signers[*]`."""
    return role.name if role.size is None else f"{role.name}[{role.size}]"


def format_role_ref(ref: RoleRef) -> str:
    """`R`, `R[0]`, `R[i]`, `R[*]`, `R[a..b]`."""
    index = ref.index
    if index is None:
        return ref.name
    if isinstance(index, IndexAll):
        return f"{ref.name}[*]"
    if isinstance(index, IndexValue):
        return f"{ref.name}[{index.value}]"
    if isinstance(index, IndexExpr):
        return f"{ref.name}[{format_expression(index.expr)}]"
    assert isinstance(index, IndexRange)
    return f"{ref.name}[{index.start}..{index.stop}]"


def format_participant(participant: Participant) -> str:
    """A role reference with the annotations written on it."""
    role = format_role_ref(participant.role)
    if not participant.annotations:
        return role
    return f"{role}[{', '.join(format_annotation(a, at=False) for a in participant.annotations)}]"


def message_suffix(message: Message | None) -> str:
    """`: Message`, or nothing for an unlabelled send."""
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


def format_annotation(annotation: Annotation, *, at: bool, bare_flags: bool = False) -> str:
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
