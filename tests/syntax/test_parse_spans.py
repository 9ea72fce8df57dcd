"""Spans: every node of every parsed seed points at its own text."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_parse_constructs import CONSTRUCTS

from aura_choreo.diagnostics import Span
from aura_choreo.syntax import ast, parse
from conftest import seed_files

SEEDS = seed_files()
# nodes whose text starts with a name they carry
_NAMED = {
    ast.RoleRef: "name",
    ast.RoleDecl: "name",
    ast.Message: "label",
    ast.TypeRef: "name",
    ast.Branch: "label",
    ast.Annotation: "key",
    ast.Name: "name",
}


def nodes(value: object) -> Iterator[object]:
    if isinstance(value, tuple):
        for item in value:
            yield from nodes(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield value
        for field in dataclasses.fields(value):
            if field.name != "span":
                yield from nodes(getattr(value, field.name))


def text_at(lines: list[str], span: Span) -> str:
    if span.line == span.end_line:
        return lines[span.line - 1][span.column - 1 : span.end_column - 1]
    return lines[span.line - 1][span.column - 1 :]


@pytest.mark.parametrize("path", SEEDS, ids=[p.name for p in SEEDS])
def test_every_span_of_a_seed_points_at_its_node(path: Path) -> None:
    check_spans(path.read_text(encoding="utf-8"), str(path))


@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
def test_every_span_of_a_construct_points_at_its_node(name: str) -> None:
    check_spans(CONSTRUCTS[name], f"{name}.choreo")


def check_spans(source: str, filename: str) -> None:
    lines = source.splitlines()
    checked = 0
    for node in nodes(parse(source, filename)):
        span = getattr(node, "span", None)
        if span is None:
            continue
        assert span.file == filename
        assert (span.line, span.column) < (span.end_line, span.end_column), node
        text = text_at(lines, span)
        assert text and not text[0].isspace(), (node, span)
        attribute = _NAMED.get(type(node))
        if attribute is not None:
            name = getattr(node, attribute)
            assert text.lstrip("@").startswith(name.split("::")[0]), (node, text)
        if isinstance(node, ast.Send):
            assert text.startswith(node.sender.role.name)
        checked += 1
    assert checked > 5
