"""Role references, send participants, types, payloads and message labels, and the statements made of
them: sends, chains, exchanges, broadcasts and local actions."""

from __future__ import annotations

from aura_choreo.syntax.annotations import parse_annotation_list
from aura_choreo.syntax.ast import (
    Annotations,
    Broadcast,
    Chain,
    Exchange,
    Expr,
    IndexAll,
    IndexExpr,
    IndexRange,
    IndexValue,
    LocalAction,
    Message,
    Participant,
    PayloadField,
    RoleIndex,
    RoleRef,
    Stmt,
    TypeExpr,
    TypeRef,
    UnionType,
)
from aura_choreo.syntax.cursor import Cursor
from aura_choreo.syntax.expressions import parse_expression, parse_expression_list
from aura_choreo.syntax.node_build import (
    message,
    participant,
    payload_field,
    plain_field,
    plain_participant,
    role_ref,
    send,
    type_ref,
)
from aura_choreo.syntax.tokens import IDENT, INT, KIND, NEWLINE_BEFORE, TEXT, VALUE, Token

BUILTIN_TYPES = frozenset(
    "int float str bool bytes list dict set tuple char u8 u16 u32 u64 u128 usize "
    "i8 i16 i32 i64 i128 isize f32 f64".split()
)
"""Lower-case names that are types, not payload field names, when written bare (`Label(u64)`)."""

ROLE = "a role name"


def is_bare_field_name(name: str) -> bool:
    """Whether a bare payload item `name` is a field name (lower-case, not a builtin type)."""
    return (name[0].islower() or name[0] == "_") and name not in BUILTIN_TYPES and "::" not in name


def parse_role_ref(c: Cursor) -> RoleRef:
    """`R`, `R[0]`, `R[i]`, `R[*]`, `R[a..b]`; a `[` that holds annotations is left for the caller."""
    start = c.expect_ident(ROLE)
    index: RoleIndex | None = None
    token = c.token
    if token[KIND] == "[" and not token[NEWLINE_BEFORE] and _bracket_is_index(c):
        index = _parse_index(c)
    return role_ref(start[TEXT], index, c.span_from(start))


def parse_participant(c: Cursor) -> Participant:
    """A role reference with the annotations written on it: `A[flow_cost = 5]`, `R[0][@cost = 1]`."""
    start = c.token
    if start[KIND] == IDENT:
        token = c.tokens[c.pos + 1]  # (an identifier is never the last token: an EOF follows)
        if token[KIND] != "[" or token[NEWLINE_BEFORE]:  # no index, no annotations: most participants
            c.pos += 1
            c.token = token
            return plain_participant(c.file, start)
    role = parse_role_ref(c)
    annotations: Annotations = ()
    token = c.token
    if token[KIND] == "[" and not token[NEWLINE_BEFORE]:
        c.advance()
        annotations = parse_annotation_list(c)
    # without annotations the participant is exactly its role: share the span object
    return participant(role, annotations, c.span_from(start) if annotations else role.span)


_ARITHMETIC = ("+", "-", "*", "/", "%")


def _bracket_is_index(c: Cursor) -> bool:
    first, second = c.peek(1), c.peek(2)
    if first[KIND] in ("*", "("):
        return True
    return first[KIND] in (INT, IDENT) and second[KIND] in ("]", "..", *_ARITHMETIC)


def _parse_index(c: Cursor) -> RoleIndex:
    c.expect("[")
    if c.accept("*"):
        c.expect("]", "`]`")
        return IndexAll()
    if c.peek(1)[KIND] in _ARITHMETIC or c.token[KIND] == "(":
        expr = parse_expression(c)
        c.expect("]", "`]`")
        return IndexExpr(expr)
    start = _index_bound(c)
    if c.accept(".."):
        stop = _index_bound(c)
        c.expect("]", "`]`")
        return IndexRange(start, stop)
    c.expect("]", "`..` or `]`")
    return IndexValue(start)


def _index_bound(c: Cursor) -> int | str:
    token = c.token
    if token[KIND] not in (INT, IDENT):
        c.fail("an index (an integer or a name)")
    c.advance()
    return token[VALUE]


# ---------------------------------------------------------------- types and payloads


def parse_type(c: Cursor) -> TypeExpr:
    """A type path with generics, or a Python union `int | None`."""
    start = c.token
    first = _type_atom(c)
    if c.token[KIND] != "|":
        return first
    options: list[TypeExpr] = [first]
    while c.accept("|"):
        options.append(_type_atom(c))
    return UnionType(tuple(options), span=c.span_from(start))


def _type_atom(c: Cursor) -> TypeRef:
    start = c.expect_ident("a type")
    name = start[TEXT]
    while c.token[KIND] == "::" and c.peek()[KIND] == IDENT:
        c.advance()
        name += "::" + c.advance()[TEXT]
    token = c.token
    if token[KIND] == "<" or (token[KIND] == "[" and not token[NEWLINE_BEFORE]):
        return type_ref(name, parse_type_args(c), c.span_from(start))
    return type_ref(name, (), c.span_from(start))


def parse_type_args(c: Cursor) -> tuple[TypeExpr, ...]:
    """`<T, U>` (Rust) or `[T, U]` (Python)."""
    closer = ">" if c.advance()[KIND] == "<" else "]"
    c.descend()
    args: list[TypeExpr] = []
    while not c.at(closer):
        args.append(parse_type(c))
        if not c.accept(","):
            break
    c.expect(closer, f"`,` or `{closer}`")
    c.ascend()
    return tuple(args)


def parse_message(c: Cursor) -> Message:
    """`Label`, `Label<T>`, `Label(fields)`, `Label<T>(fields)`."""
    start = c.token
    if start[KIND] != IDENT:
        c.fail("a message label")
    tokens = c.tokens
    c.pos += 1
    token = c.token = tokens[c.pos]
    type_args: tuple[TypeExpr, ...] = ()
    if token[KIND] == "<":
        type_args = parse_type_args(c)
        token = c.token
    if token[KIND] != "(" or token[NEWLINE_BEFORE]:
        return message(start[TEXT], type_args, (), c.span_from(start))
    c.pos += 1
    token = c.token = tokens[c.pos]
    fields: list[PayloadField] = []
    while token[KIND] != ")":
        fields.append(_payload_field(c))
        token = c.token
        if token[KIND] != ",":
            break
        c.pos += 1
        token = c.token = tokens[c.pos]
    if token[KIND] != ")":
        c.fail("`,` or `)`")
    c.pos += 1
    c.token = tokens[c.pos]
    return message(start[TEXT], type_args, tuple(fields), c.span_from(start))


_FIELD_END = frozenset({",", ")"})


def _payload_field(c: Cursor) -> PayloadField:
    tokens, pos = c.tokens, c.pos
    start = tokens[pos]
    if start[KIND] == IDENT and tokens[pos + 1][KIND] == ":":  # (the cursor's list ends in two EOFs)
        type_token, after = tokens[pos + 2], tokens[pos + 3]
        if type_token[KIND] == IDENT and after[KIND] in _FIELD_END:  # `name: T`: most fields
            c.pos = pos + 3
            c.token = after
            return plain_field(c.file, start, type_token)
        c.pos = pos + 2
        c.token = tokens[pos + 2]
        return payload_field(start[TEXT], parse_type(c), c.span_from(start))
    item = parse_type(c)
    if isinstance(item, TypeRef) and not item.args and is_bare_field_name(item.name):
        return payload_field(item.name, None, item.span)
    return payload_field(None, item, item.span)


def parse_participant_statement(c: Cursor, annotations: Annotations) -> Stmt:
    """A statement that starts with a participant: send, chain, exchange, broadcast, local action."""
    start = c.token
    tokens = c.tokens
    token = tokens[c.pos + 1]  # (the cursor's list ends in two EOFs)
    if start[KIND] == IDENT and (token[KIND] != "[" or token[NEWLINE_BEFORE]):  # as `parse_participant`
        c.pos += 1
        c.token = token
        first = plain_participant(c.file, start)
    else:
        first = parse_participant(c)
    kind = c.token[KIND]
    if kind == "->":  # a send or chain: the common case, tested first
        participants: list[Participant] = [first]
        while c.token[KIND] == "->":
            c.pos += 1
            token = c.token = tokens[c.pos]
            following = tokens[c.pos + 1]  # (`->` is never the last token)
            if token[KIND] == IDENT and (following[KIND] != "[" or following[NEWLINE_BEFORE]):
                c.pos += 1
                c.token = following
                participants.append(plain_participant(c.file, token))
            else:
                participants.append(parse_participant(c))
        message_ = None
        if c.token[KIND] == ":":
            c.pos += 1
            c.token = c.tokens[c.pos]
            message_ = parse_message(c)
        span = c.span_from(start)
        if len(participants) == 2:
            return send(participants[0], participants[1], message_, annotations, span)
        return Chain(tuple(participants), message_, annotations=annotations, span=span)
    if kind == ":":
        c.advance()
        return _local_action(c, first, annotations, start)
    if kind == "->*":
        c.advance()
        c.expect(":", "`:` and the message of the broadcast")
        return Broadcast(first, parse_message(c), annotations=annotations, span=c.span_from(start))
    if kind == "<->":
        c.advance()
        right = parse_participant(c)
        return Exchange(first, right, _optional_message(c), annotations=annotations, span=c.span_from(start))
    c.fail("`->`, `<->`, `->*` or `:`")


def _local_action(c: Cursor, first: Participant, annotations: Annotations, start: Token) -> Stmt:
    """`R: Action(args)`, after the colon."""
    if first.annotations:
        c.report(
            first.span,
            "a local action's role cannot carry annotations",
            "write them before the statement: `[@key = value] R: Action()`",
        )
    action = c.expect_ident("an action name")[TEXT]
    args: tuple[Expr, ...] = ()
    if c.at("(") and not c.token[NEWLINE_BEFORE]:
        c.advance()
        args = parse_expression_list(c, ")")
    return LocalAction(first.role, action, args, annotations=annotations, span=c.span_from(start))


def _optional_message(c: Cursor) -> Message | None:
    if c.token[KIND] != ":":
        return None
    c.advance()
    return parse_message(c)
