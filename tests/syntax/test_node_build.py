"""The parser's fast node constructors build the same nodes as the dataclass constructors."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, fields

import pytest

from aura_choreo.diagnostics import Span
from aura_choreo.syntax import node_build
from aura_choreo.syntax.ast import (
    Annotation,
    IndexValue,
    Message,
    Participant,
    PayloadField,
    RoleRef,
    Send,
    TypeRef,
)

SPAN = Span("f.choreo", 1, 2, 3, 4)


def _same(built: object, expected: object) -> None:
    assert built == expected
    assert type(built) is type(expected)
    assert hash(built) == hash(expected)
    for f in fields(expected):  # type: ignore[arg-type]
        assert getattr(built, f.name) == getattr(expected, f.name), f.name  # spans too


def test_each_fast_constructor_builds_the_dataclass_value() -> None:
    role = RoleRef("A", IndexValue(0), span=SPAN)
    typ = TypeRef("Vec", (TypeRef("u8", span=SPAN),), span=SPAN)
    field_ = PayloadField("data", typ, span=SPAN)
    ann = Annotation("flow_cost", 5, span=SPAN)
    anns = (ann,)
    part = Participant(role, anns, span=SPAN)
    msg = Message("M", (typ,), (field_,), span=SPAN)
    _same(node_build.role_ref("A", role.index, SPAN), role)
    _same(node_build.type_ref("Vec", typ.args, SPAN), typ)
    _same(node_build.payload_field("data", typ, SPAN), field_)
    _same(node_build.annotation("flow_cost", 5, SPAN), ann)
    _same(node_build.participant(role, anns, SPAN), part)
    _same(node_build.message("M", (typ,), (field_,), SPAN), msg)
    send = Send(part, part, msg, annotations=anns, span=SPAN)
    _same(node_build.send(part, part, msg, anns, SPAN), send)


def test_a_span_draft_becomes_an_equal_frozen_span() -> None:
    draft = node_build.SpanDraft()
    draft.file, draft.line, draft.column, draft.end_line, draft.end_column = "f.choreo", 1, 2, 3, 4
    draft.__class__ = Span
    _same(draft, SPAN)
    with pytest.raises(FrozenInstanceError):
        draft.line = 7


def test_a_drafted_node_is_frozen() -> None:
    node = node_build.role_ref("A", None, SPAN)
    with pytest.raises(FrozenInstanceError):
        node.name = "B"  # type: ignore[misc]


def test_a_node_field_the_constructors_do_not_set_fails_at_import() -> None:
    @dataclass(frozen=True, slots=True)
    class Grown:
        name: str
        added: int

    with pytest.raises(TypeError, match="added"):
        node_build._slot_setters(Grown, "name")
    with pytest.raises(TypeError, match="added"):
        node_build.draft_class(Grown, "name")
