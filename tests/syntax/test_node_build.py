"""The parser's fast node constructors build the same nodes as the dataclass constructors."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, fields

import pytest

from aura_choreo.diagnostics import Span
from aura_choreo.syntax import node_build
from aura_choreo.syntax.ast import (
    Annotation,
    BinOp,
    Branch,
    Choice,
    IndexValue,
    Literal,
    Loop,
    Message,
    Name,
    Participant,
    PayloadField,
    RoleRef,
    Send,
    TypeRef,
)
from aura_choreo.syntax.tokens import IDENT

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


def test_the_statement_and_expression_constructors_build_the_dataclass_values() -> None:
    role = RoleRef("A", span=SPAN)
    left, right = Name("amount", span=SPAN), Literal(5, span=SPAN)
    guard = BinOp(">", left, right, span=SPAN)
    _same(node_build.name("amount", SPAN), left)
    _same(node_build.literal(5, SPAN), right)
    _same(node_build.binop(">", left, right, SPAN), guard)
    body = (Send(Participant(role), Participant(role), None, span=SPAN),)
    arm = Branch("accept", guard, body, span=SPAN)
    _same(node_build.branch("accept", guard, body, SPAN), arm)
    anns = (Annotation("flow_cost", 5, span=SPAN),)
    _same(node_build.choice(role, (arm,), anns, SPAN), Choice(role, (arm,), annotations=anns, span=SPAN))
    counted = Loop("count", body, right, None, None, annotations=anns, span=SPAN)
    _same(node_build.loop("count", body, right, None, None, anns, SPAN), counted)


def test_one_token_participants_and_fields_span_their_tokens() -> None:
    role_token = (IDENT, "Client", "Client", 3, 5, False)
    span = Span("f.choreo", 3, 5, 3, 11)
    expected = Participant(RoleRef("Client", span=span), span=span)
    _same(node_build.plain_participant("f.choreo", role_token), expected)
    built = node_build.plain_participant("f.choreo", role_token)
    assert built.role.span == span
    name_token, type_token = (IDENT, "amount", "amount", 2, 9, False), (IDENT, "u64", "u64", 3, 1, True)
    type_span = Span("f.choreo", 3, 1, 3, 4)
    field_ = PayloadField("amount", TypeRef("u64", span=type_span), span=Span("f.choreo", 2, 9, 3, 4))
    built_field = node_build.plain_field("f.choreo", name_token, type_token)
    _same(built_field, field_)
    assert built_field.type is not None
    assert built_field.type.span == type_span


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
