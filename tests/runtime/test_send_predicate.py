"""A send checks its payload with one compiled predicate (`MessageSpec.valid`); it must refuse exactly
the messages whose fields `bad_fields` names, for every kind of declared type."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aura_choreo.projection.local_types import PayloadItem
from aura_choreo.runtime.messages import build_spec, compile_valid
from aura_choreo.syntax.ast import TypeRef

_TYPES = [
    TypeRef("i64"),
    TypeRef("u8"),
    TypeRef("i128"),
    TypeRef("int"),
    TypeRef("f64"),
    TypeRef("String"),
    TypeRef("bool"),
    TypeRef("bytes"),
    TypeRef("Vec", (TypeRef("u32"),)),
    TypeRef("HashMap", (TypeRef("String"), TypeRef("i64"))),
    TypeRef("Option", (TypeRef("i64"),)),
    TypeRef("Blob"),
    None,
]

_VALUES = st.one_of(
    st.integers(min_value=-(1 << 130), max_value=1 << 130),
    st.integers(min_value=-300, max_value=300),
    st.floats(allow_nan=False),
    st.text(max_size=3),
    st.booleans(),
    st.binary(max_size=3),
    st.none(),
    st.lists(st.integers(min_value=-5, max_value=1 << 33), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(min_value=-5, max_value=5), max_size=2),
    st.tuples(st.integers()),
)

# `class` and `from` are escaped by `field_names` (`class_`), `value` is a bare type's field.
_NAMES = ["n", "class", "from", "m", "v", "type", None]


@settings(max_examples=300, deadline=None)
@given(
    fields=st.lists(st.tuples(st.sampled_from(_NAMES), st.sampled_from(_TYPES)), min_size=1, max_size=4),
    data=st.data(),
)
def test_the_send_predicate_refuses_exactly_the_messages_with_bad_fields(
    fields: list[tuple[str | None, TypeRef | None]], data: st.DataObject
) -> None:
    named = [(n, t) for n, t in fields if n is not None]
    bare_untyped = len(named) < len(fields) and None in [t for _, t in fields]
    if len({n for n, _ in named}) != len(named) or bare_untyped:
        return  # duplicate names, or a bare untyped item: not a payload the language declares
    payload = tuple(PayloadItem(n, t) for n, t in fields)
    spec = build_spec("M", payload)
    values: list[Any] = [data.draw(_VALUES) for _ in spec.fields]
    message = spec.cls(*values)
    expected = not spec.bad_fields(message)
    assert (spec.valid is None or spec.valid(message)) == expected


def test_a_payload_with_nothing_to_check_has_no_predicate() -> None:
    assert build_spec("M", ()).valid is None
    assert build_spec("M", (PayloadItem("x", None),)).valid is None


@pytest.mark.parametrize("name", ["not a name", "\ufb01eld", "class"])
def test_a_field_name_that_is_not_a_plain_identifier_is_checked_by_the_loops(name: str) -> None:
    valid = compile_valid(((name, int),), (), {})
    assert valid is not None
    message = type("M", (), {name: "text", "field": 1})()  # `\ufb01eld` normalises to `field`
    assert not valid(message)
    setattr(message, name, 1)
    assert valid(message)
