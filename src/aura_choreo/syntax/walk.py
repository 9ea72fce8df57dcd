"""Walking the AST: the blocks nested in a statement, every statement of a block (depth first), and the
expressions nested in an expression. The one walker of each kind: semantics and the runtime use these."""

from __future__ import annotations

from collections.abc import Iterator
from operator import attrgetter

from aura_choreo.syntax.ast import (
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
    Continue,
    Exchange,
    Expr,
    For,
    If,
    Index,
    Let,
    ListExpr,
    LocalAction,
    Loop,
    Match,
    NamedBlock,
    Parallel,
    ProtocolDef,
    Rec,
    Send,
    Stmt,
    Timeout,
    Try,
    UnaryOp,
)

_LEAVES = frozenset(
    {Send, Chain, Exchange, Broadcast, LocalAction, Let, Break, Continue, Barrier, CallProtocol}
)


_BODY = attrgetter("body")
_BODY_ONLY = frozenset({Loop, For, Rec, NamedBlock, ProtocolDef})


def child_blocks(stmt: Stmt) -> tuple[Block, ...]:
    """The blocks directly inside `stmt` (branches, bodies, alternatives), in source order."""
    if type(stmt) in _LEAVES:  # most statements: answered without the chain of isinstance checks
        return ()
    if type(stmt) in _BODY_ONLY:  # and most blocks
        return (stmt.body,)  # type: ignore[attr-defined]
    if isinstance(stmt, Choice):
        return tuple(map(_BODY, stmt.branches))
    if isinstance(stmt, Match):
        return tuple(map(_BODY, stmt.arms))
    if isinstance(stmt, If):
        return (stmt.then_body,) if stmt.else_body is None else (stmt.then_body, stmt.else_body)
    if isinstance(stmt, Loop | For | Rec | NamedBlock | ProtocolDef):
        return (stmt.body,)
    if isinstance(stmt, Parallel):
        return stmt.branches
    if isinstance(stmt, Timeout):
        return (stmt.body, stmt.alt)
    if isinstance(stmt, Try):
        return (stmt.body, stmt.compensate)
    return ()


def expr_children(expr: Expr) -> tuple[Expr, ...]:
    """The expressions directly inside `expr` (operands, arguments, items), in source order."""
    if isinstance(expr, BinOp):
        return (expr.left, expr.right)
    if isinstance(expr, UnaryOp):
        return (expr.operand,)
    if isinstance(expr, Attribute):
        return (expr.value,)
    if isinstance(expr, Index):
        return (expr.value, expr.index)
    if isinstance(expr, Call):
        return expr.args
    if isinstance(expr, ListExpr):
        return expr.items
    return ()


def iter_statements(block: Block) -> Iterator[Stmt]:
    """Every statement of `block` and of the blocks nested in it, depth first, in source order."""
    for stmt in block:
        yield stmt
        for inner in child_blocks(stmt):
            yield from iter_statements(inner)
