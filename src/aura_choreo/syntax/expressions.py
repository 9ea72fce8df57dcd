"""The safe expression language (SPEC §1.6): literals, names, paths, attributes, indexing, calls,
arithmetic, comparison and boolean operators (Rust spellings normalised to Python ones)."""

from __future__ import annotations

from aura_choreo.syntax.ast import (
    Attribute,
    BinOp,
    Call,
    Duration,
    Expr,
    Index,
    ListExpr,
    Literal,
    Name,
    UnaryOp,
)
from aura_choreo.syntax.cursor import Cursor, ParseFailure
from aura_choreo.syntax.node_build import binop, literal, name
from aura_choreo.syntax.tokens import DURATION, IDENT, INT, KIND, NEWLINE_BEFORE, STRING, TEXT, VALUE, Token

_WORD_LITERALS: dict[str, bool | None] = {
    "true": True,
    "false": False,
    "True": True,
    "False": False,
    "None": None,
}
EXPRESSION = "an expression"


# binary operators by token: (the operator in the AST, its precedence level; higher binds tighter)
_BINARY: dict[str, tuple[str, int]] = {
    "||": ("or", 1),
    "&&": ("and", 2),
    "==": ("==", 4),
    "!=": ("!=", 4),
    "<": ("<", 4),
    ">": (">", 4),
    "<=": ("<=", 4),
    ">=": (">=", 4),
    "+": ("+", 5),
    "-": ("-", 5),
    "*": ("*", 6),
    "/": ("/", 6),
    "%": ("%", 6),
}
_BINARY_WORDS: dict[str, tuple[str, int]] = {"or": ("or", 1), "and": ("and", 2), "in": ("in", 4)}
_POSTFIX_STARTS = frozenset({".", "[", "("})
_NOT_LEVEL = 3  # `not` binds looser than comparisons and tighter than `and`, as in Python


MAX_EXPRESSION_DEPTH = 100
"""Deeper expression trees are refused: every later pass walks expressions recursively."""


def parse_expression(c: Cursor, min_level: int = 1) -> Expr:
    """One expression; a tree deeper than MAX_EXPRESSION_DEPTH is a syntax error (never a RecursionError)."""
    start = c.token
    first = c.pos
    expr = _expression(c, min_level)
    # Every level of the tree consumed at least one token, so only a long expression can be too deep.
    if c.pos - first >= MAX_EXPRESSION_DEPTH and _depth(expr) > MAX_EXPRESSION_DEPTH:
        c.report(
            c.span_from(start),
            f"expression has more than {MAX_EXPRESSION_DEPTH} nested operations",
            "split it into steps with `let` bindings",
        )
        raise ParseFailure
    return expr


def _depth(expr: Expr) -> int:
    """The depth of an expression tree, without recursion (the tree may be very deep)."""
    deepest = 0
    stack: list[tuple[Expr, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_EXPRESSION_DEPTH:
            return deepest
        if isinstance(node, BinOp):
            children: tuple[Expr, ...] = (node.left, node.right)
        elif isinstance(node, UnaryOp):
            children = (node.operand,)
        elif isinstance(node, Attribute):
            children = (node.value,)
        elif isinstance(node, Index):
            children = (node.value, node.index)
        elif isinstance(node, Call):
            children = node.args
        elif isinstance(node, ListExpr):
            children = node.items
        else:
            children = ()
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _expression(c: Cursor, min_level: int) -> Expr:
    """Precedence climbing over the binary operators; operators of one level associate to the left."""
    start = c.token
    left = _not(c) if start[KIND] == IDENT and start[VALUE] == "not" else _unary(c)
    while True:
        token = c.token
        entry = _BINARY_WORDS.get(token[TEXT]) if token[KIND] == IDENT else _BINARY.get(token[KIND])
        if entry is None or entry[1] < min_level:
            return left
        c.advance()
        right = _expression(c, entry[1] + 1)
        left = binop(entry[0], left, right, c.span_from(start))


def _not(c: Cursor) -> Expr:
    starts: list[Token] = []
    while c.at_word("not"):
        starts.append(c.advance())
    value = _expression(c, _NOT_LEVEL + 1)
    for start in reversed(starts):  # a loop, not recursion: `not not ... x` may be long
        value = UnaryOp("not", value, span=c.span_from(start))
    return value


def _unary(c: Cursor) -> Expr:
    start = c.token
    if start[KIND] != "!" and start[KIND] != "-":  # no prefix: most operands
        value = _atom(c)
        if c.token[KIND] not in _POSTFIX_STARTS:  # nor a suffix: `_postfix` would return it as is
            return value
        return _postfix(c, start, value)
    prefixes: list[Token] = []
    while c.at("!") or (c.at("-") and c.peek()[KIND] != INT):
        prefixes.append(c.advance())
    start = c.token
    if c.accept("-"):  # `-5` is a literal, so that a negative literal prints and parses back the same
        number = c.advance()[VALUE]
        assert isinstance(number, int)
        value = _postfix(c, start, Literal(-number, span=c.span_from(start)))
    else:
        value = _postfix(c, start, _atom(c))
    for prefix in reversed(prefixes):  # a loop, not recursion: `!!!...x` may be long
        value = UnaryOp("not" if prefix[KIND] == "!" else "-", value, span=c.span_from(prefix))
    return value


def _postfix(c: Cursor, start: Token, value: Expr) -> Expr:
    while True:
        token = c.token
        if token[KIND] not in _POSTFIX_STARTS:
            return value
        if token[KIND] == "." and c.peek()[KIND] == IDENT:
            c.advance()
            value = Attribute(value, str(c.advance()[VALUE]), span=c.span_from(start))
        elif token[KIND] == "[" and not token[NEWLINE_BEFORE]:
            c.advance()
            c.descend()
            index = parse_expression(c)
            c.expect("]", "`]`")
            c.ascend()
            value = Index(value, index, span=c.span_from(start))
        elif token[KIND] == "(" and isinstance(value, Name) and not token[NEWLINE_BEFORE]:
            c.advance()
            c.descend()
            args = parse_expression_list(c, ")")
            c.ascend()
            value = Call(value.name, args, span=c.span_from(start))
        else:
            return value


def parse_expression_list(c: Cursor, closer: str) -> tuple[Expr, ...]:
    """Comma-separated expressions up to and including `closer` (a trailing comma is allowed)."""
    items: list[Expr] = []
    while not c.at(closer):
        items.append(parse_expression(c))
        if not c.accept(","):
            break
    c.expect(closer, f"`,` or `{closer}`")
    return tuple(items)


def _atom(c: Cursor) -> Expr:
    token = c.token
    kind = token[KIND]
    if kind == IDENT or kind == INT or kind == STRING or kind == "(":  # step over it (it is not the EOF)
        c.pos += 1
        c.token = c.tokens[c.pos]
    if kind == INT or kind == STRING:
        return literal(token[VALUE], c.span_from(token))
    if kind == DURATION:
        c.advance()
        assert isinstance(token[VALUE], int)
        return Duration(token[VALUE], token[TEXT], span=c.span_from(token))
    if kind == IDENT:
        if token[TEXT] in _WORD_LITERALS:
            return literal(_WORD_LITERALS[token[TEXT]], c.span_from(token))
        path = token[TEXT]
        while c.token[KIND] == "::" and c.peek()[KIND] == IDENT:
            c.advance()
            path += "::" + c.advance()[TEXT]
        return name(path, c.span_from(token))
    if kind == "(":
        c.descend()
        inner = parse_expression(c)
        c.expect(")", "`)`")
        c.ascend()
        return inner
    if kind == "[":
        c.advance()
        c.descend()
        items = parse_expression_list(c, "]")
        c.ascend()
        return ListExpr(items, span=c.span_from(token))
    c.fail(EXPRESSION)
