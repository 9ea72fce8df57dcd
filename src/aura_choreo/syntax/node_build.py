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
    Message,
    Participant,
    PayloadField,
    RoleIndex,
    RoleRef,
    Send,
    TypeExpr,
    TypeRef,
)

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


SpanDraft = draft_class(Span, "file", "line", "column", "end_line", "end_column")
"""Drafts of spans, for `Cursor.span_from` to fill in inline (it runs once per node)."""
