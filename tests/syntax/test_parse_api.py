"""The public entry points: `aura_choreo.parse`, `parse_source`, and what `parse` raises."""

from __future__ import annotations

import pytest

import aura_choreo
from aura_choreo.errors import ChoreographyError
from aura_choreo.syntax import parse, parse_source

GOOD = "choreography G {\n    roles: A, B;\n    A -> B: M;\n}\n"


def test_parse_is_re_exported_from_the_package() -> None:
    assert aura_choreo.parse is parse
    assert aura_choreo.parse_source is parse_source


def test_parse_returns_the_file_with_every_choreography() -> None:
    file = parse(GOOD + GOOD.replace("G", "H"), "two.choreo")
    assert file.path == "two.choreo"
    assert [c.name for c in file.choreographies] == ["G", "H"]


def test_parse_raises_choreography_error_with_every_diagnostic_and_the_source() -> None:
    text = "choreography G {\n    roles: A, B;\n    A -> Q: M;\n    B -> : N;\n}\n"
    with pytest.raises(ChoreographyError) as caught:
        parse(text, "g.choreo")
    assert [d.code for d in caught.value.diagnostics] == ["E010", "E001"]
    assert caught.value.sources == {"g.choreo": text}
    assert "g.choreo:3:10: error[E010]: undefined role `Q`" in str(caught.value)


def test_warnings_alone_do_not_make_parse_raise() -> None:
    file = parse("choreography G {\n    roles: A, B;\n    A[shiny = 1] -> B: M;\n}\n")
    assert file.choreographies[0].name == "G"


def test_spans_point_at_the_source() -> None:
    send = parse(GOOD, "g.choreo").choreographies[0].body[0]
    assert (send.span.file, send.span.line, send.span.column, send.span.end_line, send.span.end_column) == (
        "g.choreo",
        3,
        5,
        3,
        14,
    )


def test_unicode_identifiers_and_a_byte_order_mark() -> None:
    file = parse("\ufeffchoreography Zähler {\n    roles: Älice, Bob;\n    Älice -> Bob: Grüße;\n}\n")
    assert [r.name for r in file.choreographies[0].roles] == ["Älice", "Bob"]
    assert file.choreographies[0].span.column == 1


def test_a_statement_may_follow_a_closing_brace_on_the_same_line() -> None:
    text = (
        "choreography G {\n    roles: A, B\n"
        "    loop (count: 2) { A -> B: M } B -> A: Done\n"
        "    choice A { l: { A -> B: L } r: { A -> B: R } } A -> B: After\n}\n"
    )
    result = parse_source(text)
    assert result.diagnostics == []
    body = result.file.choreographies[0].body
    assert [type(s).__name__ for s in body] == ["Loop", "Send", "Choice", "Send"]


def test_two_sends_on_one_line_still_need_a_separator() -> None:
    result = parse_source("choreography G {\n    roles: A, B\n    A -> B: M B -> A: N\n}\n")
    assert [d.code for d in result.diagnostics] == ["E001"]
