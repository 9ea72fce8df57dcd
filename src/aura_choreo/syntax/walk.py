"""Walking the AST: the blocks nested in a statement, and every statement of a block, depth first."""

from __future__ import annotations

from collections.abc import Iterator

from aura_choreo.syntax.ast import (
    Barrier,
    Block,
    Break,
    Broadcast,
    CallProtocol,
    Chain,
    Choice,
    Continue,
    Exchange,
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
    Stmt,
    Timeout,
    Try,
)

_LEAVES = frozenset(
    {Send, Chain, Exchange, Broadcast, LocalAction, Let, Break, Continue, Barrier, CallProtocol}
)


def child_blocks(stmt: Stmt) -> tuple[Block, ...]:
    """The blocks directly inside `stmt` (branches, bodies, alternatives), in source order."""
    if type(stmt) in _LEAVES:  # most statements: answered without the chain of isinstance checks
        return ()
    if isinstance(stmt, Choice):
        return tuple(b.body for b in stmt.branches)
    if isinstance(stmt, Match):
        return tuple(a.body for a in stmt.arms)
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


def iter_statements(block: Block) -> Iterator[Stmt]:
    """Every statement of `block` and of the blocks nested in it, depth first, in source order."""
    for stmt in block:
        yield stmt
        for inner in child_blocks(stmt):
            yield from iter_statements(inner)
