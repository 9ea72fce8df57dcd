"""Fast constructors for the nodes the parser builds most often (issue 19).

A frozen dataclass's `__init__` sets each field through `object.__setattr__` and takes its span and
annotations as keyword arguments: that was about 10,000 machine instructions per node, and a send
statement makes seven nodes. These functions build the same value (equal, the same fields, the
same span) by writing the node's slots directly, like `Cursor.span_from` does for spans, which
costs less than half as much.

Each node's slot setters are looked up once, at import, against `dataclasses.fields`: a field
added to one of these nodes fails the import here instead of being silently left unset.
`tests/syntax/test_node_build.py` holds each function equal to the dataclass constructor.
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


def _slot_setters(cls: type, *names: str) -> tuple[_Setter, ...]:
    """The `__set__` of each named slot of `cls`; `names` must be exactly the dataclass's fields."""
    declared = {f.name for f in fields(cls)}
    if declared != set(names) or len(names) != len(declared):
        raise TypeError(f"node_build sets {names} of {cls.__name__}, whose fields are {sorted(declared)}")
    setters = []
    for name in names:
        owner = next(klass for klass in cls.__mro__ if name in vars(klass))
        setters.append(vars(owner)[name].__set__)  # a member descriptor: the node is a slots class
    return tuple(setters)


_role_name, _role_index, _role_span = _slot_setters(RoleRef, "name", "index", "span")


def role_ref(name: str, index: RoleIndex | None, span: Span) -> RoleRef:
    node = _new(RoleRef)
    _role_name(node, name)
    _role_index(node, index)
    _role_span(node, span)
    return node


_part_role, _part_annotations, _part_span = _slot_setters(Participant, "role", "annotations", "span")


def participant(role: RoleRef, annotations: Annotations, span: Span) -> Participant:
    node = _new(Participant)
    _part_role(node, role)
    _part_annotations(node, annotations)
    _part_span(node, span)
    return node


_type_name, _type_args, _type_span = _slot_setters(TypeRef, "name", "args", "span")


def type_ref(name: str, args: tuple[TypeExpr, ...], span: Span) -> TypeRef:
    node = _new(TypeRef)
    _type_name(node, name)
    _type_args(node, args)
    _type_span(node, span)
    return node


_field_name, _field_type, _field_span = _slot_setters(PayloadField, "name", "type", "span")


def payload_field(name: str | None, type_: TypeExpr | None, span: Span) -> PayloadField:
    node = _new(PayloadField)
    _field_name(node, name)
    _field_type(node, type_)
    _field_span(node, span)
    return node


_msg_label, _msg_type_args, _msg_fields, _msg_span = _slot_setters(
    Message, "label", "type_args", "fields", "span"
)


def message(
    label: str, type_args: tuple[TypeExpr, ...], fields_: tuple[PayloadField, ...], span: Span
) -> Message:
    node = _new(Message)
    _msg_label(node, label)
    _msg_type_args(node, type_args)
    _msg_fields(node, fields_)
    _msg_span(node, span)
    return node


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


_ann_key, _ann_value, _ann_span = _slot_setters(Annotation, "key", "value", "span")


def annotation(key: str, value: AnnotationValue, span: Span) -> Annotation:
    node = _new(Annotation)
    _ann_key(node, key)
    _ann_value(node, value)
    _ann_span(node, span)
    return node
