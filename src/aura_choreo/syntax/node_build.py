"""Fast constructors for the nodes and spans the parser builds most often (issue 19).

A frozen dataclass's `__init__` sets each field through `object.__setattr__` and takes its span and
annotations as keyword arguments: about 10,000 machine instructions per node (8,500 per `Span`), and
a send statement makes seven nodes and six spans. These functions build the same value (equal, of
the same class, with the same fields and span) for a fraction of that:

- A node whose class has no slotted base (`Span`, `RoleRef`, `TypeRef`, ...) is filled in as a
  *draft*: an instance of a plain class with exactly the same slots, whose attribute stores are the
  interpreter's fastest, and then given its real class by assigning `__class__` (Python allows that
  between classes of the same layout; the node is frozen from then on). About 1,800 instructions.
- `Send`, whose slots are split between it and `Stmt`, has its slots written through their
  descriptors' `__set__`. About 4,500 instructions.

Each constructor's field list is checked at import against `dataclasses.fields`: a field added to
one of these nodes fails the import here instead of being left unset.
`tests/syntax/test_node_build.py` holds each constructor equal to the dataclass constructor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from aura_choreo.diagnostics import Span
from aura_choreo.syntax.ast import (
    Annotation,
    Annotations,
    AnnotationValue,
    BinOp,
    Block,
    Branch,
    Choice,
    Expr,
    Literal,
    Loop,
    Message,
    Name,
    Participant,
    PayloadField,
    RoleIndex,
    RoleRef,
    Send,
    TypeExpr,
    TypeRef,
)
from aura_choreo.syntax.tokens import COLUMN, LINE, TEXT, Token

_new = object.__new__
_Setter = Callable[[Any, Any], None]


def _check_fields(cls: type, names: tuple[str, ...]) -> None:
    declared = {f.name for f in fields(cls)}
    if declared != set(names) or len(names) != len(declared):
        raise TypeError(f"node_build sets {names} of {cls.__name__}, whose fields are {sorted(declared)}")


def draft_class(cls: type, *names: str) -> type[Any]:
    """A plain class with the slots of `cls` (a slots dataclass on `object`), for drafts of its nodes.

    `names` are the fields the caller sets, which must be exactly the dataclass's fields.
    """
    _check_fields(cls, names)
    slots = vars(cls).get("__slots__", ())
    if cls.__bases__ != (object,) or set(slots) != set(names):
        raise TypeError(f"{cls.__name__} is not a slots dataclass of its own fields only")
    return type(f"_{cls.__name__}Draft", (), {"__slots__": slots})


def _slot_setters(cls: type, *names: str) -> tuple[_Setter, ...]:
    """The `__set__` of each named slot of `cls`; `names` must be exactly the dataclass's fields."""
    _check_fields(cls, names)
    setters = []
    for name in names:
        owner = next(klass for klass in cls.__mro__ if name in vars(klass))
        setters.append(vars(owner)[name].__set__)  # a member descriptor: the node is a slots class
    return tuple(setters)


_RoleRefDraft = draft_class(RoleRef, "name", "index", "span")


def role_ref(name: str, index: RoleIndex | None, span: Span) -> RoleRef:
    node = _RoleRefDraft()
    node.name = name
    node.index = index
    node.span = span
    node.__class__ = RoleRef
    return node  # type: ignore[no-any-return]  # (a RoleRef now; `cast` would cost a call)


_ParticipantDraft = draft_class(Participant, "role", "annotations", "span")


def participant(role: RoleRef, annotations: Annotations, span: Span) -> Participant:
    node = _ParticipantDraft()
    node.role = role
    node.annotations = annotations
    node.span = span
    node.__class__ = Participant
    return node  # type: ignore[no-any-return]  # (a Participant now; `cast` would cost a call)


_TypeRefDraft = draft_class(TypeRef, "name", "args", "span")


def type_ref(name: str, args: tuple[TypeExpr, ...], span: Span) -> TypeRef:
    node = _TypeRefDraft()
    node.name = name
    node.args = args
    node.span = span
    node.__class__ = TypeRef
    return node  # type: ignore[no-any-return]  # (a TypeRef now; `cast` would cost a call)


_PayloadFieldDraft = draft_class(PayloadField, "name", "type", "span")


def payload_field(name: str | None, type_: TypeExpr | None, span: Span) -> PayloadField:
    node = _PayloadFieldDraft()
    node.name = name
    node.type = type_
    node.span = span
    node.__class__ = PayloadField
    return node  # type: ignore[no-any-return]  # (a PayloadField now; `cast` would cost a call)


_MessageDraft = draft_class(Message, "label", "type_args", "fields", "span")


def message(
    label: str, type_args: tuple[TypeExpr, ...], fields_: tuple[PayloadField, ...], span: Span
) -> Message:
    node = _MessageDraft()
    node.label = label
    node.type_args = type_args
    node.fields = fields_
    node.span = span
    node.__class__ = Message
    return node  # type: ignore[no-any-return]  # (a Message now; `cast` would cost a call)


_send_sender, _send_receiver, _send_message, _send_annotations, _send_span = _slot_setters(
    Send, "sender", "receiver", "message", "annotations", "span"
)


def send(
    sender: Participant, receiver: Participant, message_: Message | None, annotations: Annotations, span: Span
) -> Send:
    node = _new(Send)
    _send_sender(node, sender)
    _send_receiver(node, receiver)
    _send_message(node, message_)
    _send_annotations(node, annotations)
    _send_span(node, span)
    return node


_AnnotationDraft = draft_class(Annotation, "key", "value", "span")


def annotation(key: str, value: AnnotationValue, span: Span) -> Annotation:
    node = _AnnotationDraft()
    node.key = key
    node.value = value
    node.span = span
    node.__class__ = Annotation
    return node  # type: ignore[no-any-return]  # (a Annotation now; `cast` would cost a call)


_BranchDraft = draft_class(Branch, "label", "guard", "body", "span")


def branch(label: str, guard: Expr | None, body: Block, span: Span) -> Branch:
    node = _BranchDraft()
    node.label = label
    node.guard = guard
    node.body = body
    node.span = span
    node.__class__ = Branch
    return node  # type: ignore[no-any-return]  # (a Branch now; `cast` would cost a call)


_choice_decider, _choice_branches, _choice_annotations, _choice_span = _slot_setters(
    Choice, "decider", "branches", "annotations", "span"
)


def choice(decider: RoleRef, branches: tuple[Branch, ...], annotations: Annotations, span: Span) -> Choice:
    node = _new(Choice)
    _choice_decider(node, decider)
    _choice_branches(node, branches)
    _choice_annotations(node, annotations)
    _choice_span(node, span)
    return node


_loop_setters = _slot_setters(Loop, "kind", "body", "count", "decider", "condition", "annotations", "span")


def loop(
    kind: str,
    body: Block,
    count: Expr | None,
    decider: RoleRef | None,
    condition: str | None,
    annotations: Annotations,
    span: Span,
) -> Loop:
    node = _new(Loop)
    set_kind, set_body, set_count, set_decider, set_condition, set_annotations, set_span = _loop_setters
    set_kind(node, kind)
    set_body(node, body)
    set_count(node, count)
    set_decider(node, decider)
    set_condition(node, condition)
    set_annotations(node, annotations)
    set_span(node, span)
    return node


# expression nodes: subclasses of `Expr`, so built through their slot setters like `send`
_literal_value, _literal_span = _slot_setters(Literal, "value", "span")


def literal(value: int | str | bool | None, span: Span) -> Literal:
    node = _new(Literal)
    _literal_value(node, value)
    _literal_span(node, span)
    return node


_name_name, _name_span = _slot_setters(Name, "name", "span")


def name(name_: str, span: Span) -> Name:
    node = _new(Name)
    _name_name(node, name_)
    _name_span(node, span)
    return node


_binop_op, _binop_left, _binop_right, _binop_span = _slot_setters(BinOp, "op", "left", "right", "span")


def binop(op: str, left: Expr, right: Expr, span: Span) -> BinOp:
    node = _new(BinOp)
    _binop_op(node, op)
    _binop_left(node, left)
    _binop_right(node, right)
    _binop_span(node, span)
    return node


SpanDraft = draft_class(Span, "file", "line", "column", "end_line", "end_column")
"""Drafts of spans, for `Cursor.span_from` to fill in inline (it runs once per node)."""


# ---------------------------------------------------------------- one-token nodes, span included
# The commonest participants and types are one identifier token. Building the span and the node(s)
# in one call (not span_from, then role_ref, then participant) saves the calls, which cost as much
# as the building; the span is the token's, exactly as `Cursor.span_from(token)` makes it.


def plain_participant(file: str, token: Token) -> Participant:
    """The participant `R` (a role named by `token`, no index, no annotations); it shares its role's span."""
    span = SpanDraft()
    span.file = file
    span.line = line = token[LINE]
    span.column = column = token[COLUMN]
    span.end_line = line
    span.end_column = column + (len(token[TEXT]) or 1)
    span.__class__ = Span
    role = _RoleRefDraft()
    role.name = token[TEXT]
    role.index = None
    role.span = span
    role.__class__ = RoleRef
    node = _ParticipantDraft()
    node.role = role
    node.annotations = ()
    node.span = span
    node.__class__ = Participant
    return node  # type: ignore[no-any-return]  # (a Participant now; `cast` would cost a call)


def plain_field(file: str, name: Token, type_: Token) -> PayloadField:
    """The payload field `name: T` whose type is the one identifier `type_` (on the same or a later line)."""
    span = SpanDraft()
    span.file = file
    span.line = type_line = type_[LINE]
    span.column = column = type_[COLUMN]
    span.end_line = type_line
    span.end_column = end_column = column + (len(type_[TEXT]) or 1)
    span.__class__ = Span
    typ = _TypeRefDraft()
    typ.name = type_[TEXT]
    typ.args = ()
    typ.span = span
    typ.__class__ = TypeRef
    span = SpanDraft()
    span.file = file
    span.line = name[LINE]
    span.column = name[COLUMN]
    span.end_line = type_line
    span.end_column = end_column
    span.__class__ = Span
    node = _PayloadFieldDraft()
    node.name = name[TEXT]
    node.type = typ
    node.span = span
    node.__class__ = PayloadField
    return node  # type: ignore[no-any-return]  # (a PayloadField now; `cast` would cost a call)
