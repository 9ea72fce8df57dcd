"""Statements and blocks (SPEC §1.6).

A statement ends at `;`, at a newline, or before `}`; a newline ends it only where it is complete, so
a send split over lines (`Admin[...]` / `-> Moderator: M;`) stays one statement. Keywords are only
keywords at the start of a statement and only when the next token cannot continue a send
(`Loop -> B: M` is a send by the role `Loop`).
"""

from __future__ import annotations

from collections.abc import Callable

from aura_choreo.diagnostics import did_you_mean
from aura_choreo.syntax.annotations import parse_leading_annotations
from aura_choreo.syntax.ast import (
    Annotations,
    Barrier,
    Block,
    Branch,
    Break,
    CallProtocol,
    Continue,
    Expr,
    For,
    If,
    Let,
    Match,
    MatchArm,
    NamedBlock,
    Parallel,
    ProtocolDef,
    Rec,
    RoleRef,
    Stmt,
    Timeout,
    Try,
)
from aura_choreo.syntax.cursor import Cursor, ParseFailure
from aura_choreo.syntax.expressions import parse_expression
from aura_choreo.syntax.messages import parse_participant_statement, parse_role_ref
from aura_choreo.syntax.node_build import branch, choice, loop
from aura_choreo.syntax.tokens import EOF, IDENT, INT, KIND, NEWLINE_BEFORE, STRING, TEXT, VALUE, Token

STATEMENT = "a statement"
_SEND_CONTINUATIONS = frozenset({"->", "<->", "->*", ":"})
_SEND_ARROWS = frozenset({"->", "<->", "->*"})
_ANNOTATION_STARTS = frozenset({"[", "@"})
_BLOCK_END = frozenset({"}", EOF})


# ---------------------------------------------------------------- blocks


def parse_block(c: Cursor) -> Block:
    """`{ statements }`; a missing `}` is reported at end of file, with where the block opened."""
    opening = c.expect("{", "`{`")
    c.descend()
    body = parse_statements(c, _BLOCK_END)
    c.ascend()
    close_block(c, opening)
    return body


def close_block(c: Cursor, opening: Token) -> None:
    """Consume the `}` matching `opening`, or report it missing (without unwinding)."""
    if not c.accept("}"):
        c.report_unclosed_block(opening)


def parse_statements(c: Cursor, stops: frozenset[str]) -> Block:
    """Statements up to (not including) a token in `stops`, recovering from errors statement by statement."""
    statements: list[Stmt] = []
    depth = c.depth
    while True:
        while c.token[KIND] == ";":
            c.advance()
        if c.token[KIND] in stops:
            return tuple(statements)
        start = c.pos
        try:
            statements.append(parse_statement(c))
            if c.token[KIND] == ";":  # the common end, without `end_statement`'s call
                c.pos += 1
                c.token = c.tokens[c.pos]
            else:
                end_statement(c, stops)
        except ParseFailure:
            c.depth = depth
            c.synchronise(start)


def end_statement(c: Cursor, stops: frozenset[str]) -> None:
    """A statement is complete: the next token must be `;`, a newline, the end of the block, or follow a
    statement that ended with its own `}` (`loop { ... } A -> B: M` needs no separator, SPEC §1.2)."""
    token = c.token
    if token[KIND] == ";":
        c.advance()
    elif (
        token[KIND] not in stops
        and not token[NEWLINE_BEFORE]
        and token[KIND] not in _BLOCK_END
        and c.previous()[KIND] != "}"
    ):
        previous = c.previous()
        hint = ""
        if token[KIND] == IDENT and previous[KIND] == IDENT and c.peek()[KIND] in (";", "(", "<", "}", EOF):
            hint = f"a message follows a colon: `{previous[TEXT]}: {token[TEXT]}`"
        c.fail("`;` or a newline", hint)


# ---------------------------------------------------------------- one statement


def parse_statement(c: Cursor) -> Stmt:
    """One statement with the annotations written before it."""
    annotations = parse_leading_annotations(c) if c.token[KIND] in _ANNOTATION_STARTS else ()
    token = c.token
    if token[KIND] != IDENT:
        if token[KIND] == "#" and c.peek()[KIND] == "[":
            c.fail(
                STATEMENT,
                "annotate a statement with `[@key = value]` or `@key`; `#[...]` goes before a choreography",
            )
        c.fail(STATEMENT)
    following = c.tokens[c.pos + 1]  # (an identifier is never the last token: an EOF follows)
    if following[KIND] in _SEND_CONTINUATIONS or (following[KIND] == "[" and not following[NEWLINE_BEFORE]):
        return parse_participant_statement(c, annotations)
    handler = _KEYWORDS.get(token[TEXT])
    if handler is None:
        if token[TEXT] == "else":
            c.fail(STATEMENT, "`else` must follow the `}` of an `if` block")
        c.advance()
        hint = did_you_mean(token[TEXT], _KEYWORDS) if following[KIND] in (IDENT, "{", "(") else ""
        c.fail(f"`->`, `<->`, `->*` or `:` after the role `{token[TEXT]}`", hint)
    return handler(c, annotations)


# ---------------------------------------------------------------- choice, match, if


def _choice(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    if c.at_word("at") and c.peek()[KIND] == IDENT:
        c.advance()
    if c.token[KIND] != IDENT:
        c.fail(
            "the role that decides",
            "a choice names its decider: `choice Client { ... }` or `choice at Client { ... }`",
        )
    decider = parse_role_ref(c)
    opening = c.expect("{", "`{` after the deciding role")
    branches: list[Branch] = []
    _separated_items(c, lambda: branches.append(_branch(c)))
    close_block(c, opening)
    return choice(decider, tuple(branches), annotations, c.span_from(start))


_MISSING_BRACE = "is a `}` missing above? A statement cannot stand here"


def _branch(c: Cursor) -> Branch:
    if c.token[KIND] == IDENT and c.peek()[KIND] in _SEND_ARROWS:
        c.fail("a branch (`label: { ... }`)", _MISSING_BRACE)
    start = c.expect_ident("a branch label")
    guard = parse_expression(c) if c.accept_word("when") else None
    if not (c.accept(":") or c.accept("=>")):
        c.fail("`:` after the branch label" if guard else "`when` or `:` after the branch label")
    body = _arm_body(c)
    return branch(start[TEXT], guard, body, c.span_from(start))


def _arm_body(c: Cursor) -> Block:
    """A branch or match arm body: a block, or a single statement."""
    if c.at("{"):
        return parse_block(c)
    return (parse_statement(c),)


def _separated_items(c: Cursor, item: Callable[[], object]) -> None:
    """Items separated by `,`, `;` or newlines up to the closing `}` (not consumed), with recovery."""
    depth = c.depth
    c.descend()
    while True:
        while c.accept(",") or c.accept(";"):
            pass
        if c.token[KIND] in _BLOCK_END:
            break
        start = c.pos
        try:
            item()
            separated = c.token[KIND] in (",", ";", "}", EOF) or c.token[NEWLINE_BEFORE]
            if not separated and c.previous()[KIND] != "}":  # a braced body needs no separator after it
                c.fail("`,`, `;` or a newline")
        except ParseFailure:
            c.depth = depth + 1
            c.synchronise(start)
    c.ascend()


def _match(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    subject = parse_expression(c)
    opening = c.expect("{", "`{` after the matched expression")
    arms: list[MatchArm] = []
    _separated_items(c, lambda: arms.append(_arm(c)))
    close_block(c, opening)
    return Match(subject, tuple(arms), annotations=annotations, span=c.span_from(start))


def _arm(c: Cursor) -> MatchArm:
    if c.token[KIND] == IDENT and c.peek()[KIND] in _SEND_ARROWS:
        c.fail("a match arm (`Pattern => { ... }`)", _MISSING_BRACE)
    start = c.token
    if c.at("-") and c.peek()[KIND] == INT:  # a negative integer pattern
        c.advance()
        pattern = "-" + c.advance()[TEXT]
        c.expect("=>", "`=>` after the pattern")
        return MatchArm(pattern, _arm_body(c), span=c.span_from(start))
    if c.token[KIND] == INT:
        pattern = c.advance()[TEXT]
        c.expect("=>", "`=>` after the pattern")
        return MatchArm(pattern, _arm_body(c), span=c.span_from(start))
    start = c.expect_ident("a pattern (such as `Vote::Commit`, `3` or `_`)")
    pattern = start[TEXT]
    while c.at("::") and c.peek()[KIND] == IDENT:
        c.advance()
        pattern += "::" + c.advance()[TEXT]
    c.expect("=>", "`=>` after the pattern")
    return MatchArm(pattern, _arm_body(c), span=c.span_from(start))


def _if(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    condition = parse_expression(c)
    then_body = parse_block(c)
    else_body: Block | None = None
    if c.at_word("else"):
        c.advance()
        if c.at_word("if"):
            else_body = (_if(c, ()),)
        else:
            else_body = parse_block(c)
    return If(condition, then_body, else_body, annotations=annotations, span=c.span_from(start))


# ---------------------------------------------------------------- loops and recursion


def _loop(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    if not c.accept("("):
        return loop("open", parse_block(c), None, None, None, annotations, c.span_from(start))
    kind_token = c.token
    kind = kind_token[TEXT] if kind_token[KIND] == IDENT else ""
    if kind not in ("count", "decides", "custom"):
        c.fail("`count`, `decides` or `custom`")
    c.advance()
    c.expect(":", f"`:` after `{kind}`")
    count: Expr | None = None
    decider: RoleRef | None = None
    condition: str | None = None
    if kind == "count":
        count = parse_expression(c)
    elif kind == "decides":
        decider = parse_role_ref(c)
    else:
        token = c.token
        if token[KIND] not in (STRING, IDENT):
            c.fail('a condition name (a string such as `"has_more"`)')
        condition = str(c.advance()[VALUE])
    c.expect(")", "`)`")
    body = parse_block(c)
    return loop(kind, body, count, decider, condition, annotations, c.span_from(start))


def _for(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    var = c.expect_ident("a loop variable")[TEXT]
    c.expect_word("in")
    first = parse_expression(c)
    c.expect("..", "`..` (a range is written `a..b`)")
    stop = parse_expression(c)
    body = parse_block(c)
    return For(var, first, stop, body, annotations=annotations, span=c.span_from(start))


def _break(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    return Break(annotations=annotations, span=c.span_from(start))


def _rec(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    label = c.expect_ident("a recursion label")[TEXT]
    body = parse_block(c)
    return Rec(label, body, annotations=annotations, span=c.span_from(start))


def _continue(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    label = c.expect_ident("the label of the enclosing `rec`")[TEXT]
    return Continue(label, annotations=annotations, span=c.span_from(start))


# ---------------------------------------------------------------- parallel, barrier, actions, bindings


def _parallel(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    opening = c.expect("{", "`{`")
    c.descend()
    groups: list[list[Stmt]] = [[]]
    separated = False
    stops = frozenset({"}", "|", EOF})
    while True:
        groups[-1].extend(parse_statements(c, stops))
        if not c.accept("|"):
            break
        separated = True
        groups.append([])
    c.ascend()
    close_block(c, opening)
    branches = tuple(tuple(g) for g in groups) if separated else tuple((s,) for s in groups[0])
    return Parallel(branches, annotations=annotations, span=c.span_from(start))


def _barrier(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    role: RoleRef | None = None
    if c.at("(") and not c.token[NEWLINE_BEFORE]:
        c.advance()
        role = parse_role_ref(c)
        c.expect(")", "`)`")
    return Barrier(role, annotations=annotations, span=c.span_from(start))


def _let(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    name = c.expect_ident("a variable name")[TEXT]
    c.expect("=", "`=`")
    value = parse_expression(c)
    return Let(name, value, annotations=annotations, span=c.span_from(start))


# ---------------------------------------------------------------- composition


def _protocol_def(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    name = c.expect_ident("a protocol name")[TEXT]
    params: list[str] = []
    if c.accept("("):
        while not c.at(")"):
            params.append(c.expect_ident("a role parameter")[TEXT])
            if not c.accept(","):
                break
        c.expect(")", "`,` or `)`")
    body = parse_block(c)
    return ProtocolDef(name, tuple(params), body, annotations=annotations, span=c.span_from(start))


def _call(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    name = c.expect_ident("a protocol name")[TEXT]
    args: tuple[RoleRef, ...] | None = None
    if c.at("(") and not c.token[NEWLINE_BEFORE]:
        c.advance()
        refs: list[RoleRef] = []
        while not c.at(")"):
            refs.append(parse_role_ref(c))
            if not c.accept(","):
                break
        c.expect(")", "`,` or `)`")
        args = tuple(refs)
    return CallProtocol(name, args, start[TEXT], annotations=annotations, span=c.span_from(start))


def _named_block(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    name = c.expect_ident("a block name")[TEXT]
    body = parse_block(c)
    return NamedBlock(name, body, annotations=annotations, span=c.span_from(start))


def _timeout(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    c.expect("(", "`(` and a deadline such as `30s`")
    deadline = parse_expression(c)
    c.expect(")", "`)`")
    body = parse_block(c)
    alt: Block = ()
    if c.at_word("or") and c.peek()[KIND] == "{":
        c.advance()
        alt = parse_block(c)
    return Timeout(deadline, body, alt, annotations=annotations, span=c.span_from(start))


def _try(c: Cursor, annotations: Annotations) -> Stmt:
    start = c.advance()
    body = parse_block(c)
    if not c.at_word("compensate"):
        c.fail("`compensate` and the compensation block")
    c.advance()
    compensate = parse_block(c)
    return Try(body, compensate, annotations=annotations, span=c.span_from(start))


_KEYWORDS: dict[str, Callable[[Cursor, Annotations], Stmt]] = {
    "choice": _choice,
    "match": _match,
    "if": _if,
    "loop": _loop,
    "for": _for,
    "break": _break,
    "rec": _rec,
    "continue": _continue,
    "parallel": _parallel,
    "par": _parallel,
    "barrier": _barrier,
    "let": _let,
    "protocol": _protocol_def,
    "call": _call,
    "compose": _call,
    "sub_protocol": _named_block,
    "timeout": _timeout,
    "try": _try,
}
