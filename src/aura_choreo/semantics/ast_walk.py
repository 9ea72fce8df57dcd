"""Generic traversal of the AST (every node is a dataclass, so fields can be walked uniformly)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from aura_choreo.syntax import ast


def nodes(value: object) -> Iterator[object]:
    """`value` and every dataclass node or tuple item reachable from it, depth first."""
    yield value
    if isinstance(value, tuple):
        for item in value:
            yield from nodes(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name != "span":
                yield from nodes(getattr(value, f.name))


def protocol_defs(body: ast.Block) -> dict[str, ast.ProtocolDef]:
    """Every nested `protocol Sub(...) { }` of a body, by name (the first definition wins)."""
    found: dict[str, ast.ProtocolDef] = {}
    for node in nodes(body):
        if isinstance(node, ast.ProtocolDef):
            found.setdefault(node.name, node)
    return found


def mentions_index(body: ast.Block, var: str) -> bool:
    """Whether a role reference in `body` is indexed by `var` (`R[var]`, `R[var..k]`)."""
    for node in nodes(body):
        if isinstance(node, ast.IndexValue) and node.value == var:
            return True
        if isinstance(node, ast.IndexRange) and var in (node.start, node.stop):
            return True
    return False


def loop_breaks(body: ast.Block) -> bool:
    """Whether `body` contains a `break` of this loop (not of an inner loop)."""
    return any(_contains_break(stmt) for stmt in body)


def _contains_break(value: object) -> bool:
    if isinstance(value, ast.Break):
        return True
    if isinstance(value, ast.Loop | ast.For | ast.Expr):
        return False
    if isinstance(value, tuple):
        return any(_contains_break(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(
            _contains_break(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "span"
        )
    return False


def rec_labels(body: ast.Block) -> set[str]:
    """Every label of a user-written `rec`."""
    return {node.label for node in nodes(body) if isinstance(node, ast.Rec)}
