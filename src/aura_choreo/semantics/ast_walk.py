"""Traversal of the AST's statements (expressions and annotations are not walked: nothing here needs them)."""

from __future__ import annotations

from collections.abc import Iterator

from aura_choreo.semantics.expressions import variables
from aura_choreo.syntax import ast
from aura_choreo.syntax.walk import child_blocks


def statements(body: ast.Block, *, into_loops: bool = True) -> Iterator[ast.Stmt]:
    """Every statement of `body`, nested ones included (not inside loops when `into_loops` is False)."""
    stack = list(reversed(body))
    while stack:
        stmt = stack.pop()
        yield stmt
        if not into_loops and isinstance(stmt, ast.Loop | ast.For):
            continue
        for block in reversed(child_blocks(stmt)):
            stack.extend(reversed(block))


def role_refs(stmt: ast.Stmt) -> Iterator[ast.RoleRef]:
    """The role references a statement itself makes."""
    if isinstance(stmt, ast.Send):
        yield stmt.sender.role
        yield stmt.receiver.role
    elif isinstance(stmt, ast.Chain):
        yield from (p.role for p in stmt.participants)
    elif isinstance(stmt, ast.Exchange):
        yield stmt.left.role
        yield stmt.right.role
    elif isinstance(stmt, ast.Broadcast):
        yield stmt.sender.role
    elif isinstance(stmt, ast.Choice):
        yield stmt.decider
    elif isinstance(stmt, ast.Loop) and stmt.decider is not None:
        yield stmt.decider
    elif isinstance(stmt, ast.Barrier) and stmt.role is not None:
        yield stmt.role
    elif isinstance(stmt, ast.LocalAction):
        yield stmt.role
    elif isinstance(stmt, ast.CallProtocol) and stmt.args:
        yield from stmt.args


def protocol_defs(body: ast.Block) -> dict[str, ast.ProtocolDef]:
    """Every nested `protocol Sub(...) { }` of a body, by name (the first definition wins)."""
    found: dict[str, ast.ProtocolDef] = {}
    for stmt in statements(body):
        if isinstance(stmt, ast.ProtocolDef):
            found.setdefault(stmt.name, stmt)
    return found


def mentions_index(body: ast.Block, var: str) -> bool:
    """Whether a role reference in `body` is indexed by `var` (`R[var]`, `R[var..k]`)."""
    for stmt in statements(body):
        for ref in role_refs(stmt):
            index = ref.index
            if isinstance(index, ast.IndexValue) and index.value == var:
                return True
            if isinstance(index, ast.IndexRange) and var in (index.start, index.stop):
                return True
            if isinstance(index, ast.IndexExpr) and var in variables(index.expr):
                return True
    return False


def loop_breaks(body: ast.Block) -> bool:
    """Whether `body` contains a `break` of this loop (not of an inner loop)."""
    return any(isinstance(s, ast.Break) for s in statements(body, into_loops=False))


def rec_labels(body: ast.Block) -> set[str]:
    """Every label of a user-written `rec`."""
    return {s.label for s in statements(body) if isinstance(s, ast.Rec)}


def loop_variables(body: ast.Block) -> set[str]:
    """Every `for` index variable."""
    return {s.var for s in statements(body) if isinstance(s, ast.For)}
