"""The lexer: literals, durations, comments, strings, raw wrappers, and where newlines fall."""

from __future__ import annotations

import pytest

from aura_choreo.syntax import format_source, parse_source
from aura_choreo.syntax.lexer import tokenize
from aura_choreo.syntax.tokens import (
    DURATION,
    EOF,
    IDENT,
    INT,
    RAW_CLOSE,
    RAW_OPEN,
    STRING,
    token_span,
)


def kinds_and_values(text: str) -> list[tuple[str, object]]:
    tokens, diagnostics = tokenize(text)
    assert diagnostics == []
    return [(kind, value) for kind, _, value, *_ in tokens if kind != EOF]


@pytest.mark.parametrize(
    ("text", "millis"),
    [("500ms", 500), ("30s", 30_000), ("2m", 120_000), ("1h", 3_600_000), ("30_seconds", 30_000),
     ("5_minutes", 300_000), ("100_millis", 100), ("1_500ms", 1500)],
)  # fmt: skip
def test_durations_are_milliseconds(text: str, millis: int) -> None:
    assert kinds_and_values(text) == [(DURATION, millis)]


def test_integers_allow_underscores() -> None:
    assert kinds_and_values("1_000_000 42") == [(INT, 1_000_000), (INT, 42)]


def test_strings_decode_escapes() -> None:
    assert kinds_and_values(r'"a\"b\\c\n\u{41}"') == [(STRING, 'a"b\\c\nA')]


def test_comments_are_skipped_and_nested_block_comments_close() -> None:
    assert kinds_and_values("a // b\n/* c /* d */ e */ f") == [(IDENT, "a"), (IDENT, "f")]


def test_longest_punctuation_wins() -> None:
    assert [k for k, _ in kinds_and_values("->* <-> -> => :: .. a>>b")] == [
        "->*", "<->", "->", "=>", "::", "..", IDENT, ">", ">", IDENT,
    ]  # fmt: skip


def test_range_after_integer_is_not_a_number() -> None:
    assert kinds_and_values("0..3") == [(INT, 0), ("..", ".."), (INT, 3)]


def test_raw_string_wrapper_tokens() -> None:
    assert [k for k, _ in kinds_and_values('r#" x "a" "#')] == [RAW_OPEN, IDENT, STRING, RAW_CLOSE]


def test_newline_before_is_recorded_across_comments() -> None:
    tokens, _ = tokenize("a /* x\n */ b c\n// z\nd")
    assert [t[-1] for t in tokens[:4]] == [True, True, False, True]


def test_positions_are_one_based_line_and_column() -> None:
    tokens, _ = tokenize("ab\n  cd")
    spans = [token_span(t, "f") for t in tokens[:2]]
    assert [(s.line, s.column, s.end_column) for s in spans] == [(1, 1, 3), (2, 3, 5)]


@pytest.mark.parametrize(
    ("text", "message"),
    [("5x", "unknown duration unit `x`"), ("5_", "cannot end in `_`"), ("$", "unexpected character `$`"),
     ('"open', "unterminated string"), ("/* x", "unterminated comment"), (r'"\q"', "unknown escape"),
     ("0__", "malformed number `0__`"), ("7__s", "malformed number `7__s`")],
)  # fmt: skip
def test_lexical_errors_are_diagnostics(text: str, message: str) -> None:
    _, diagnostics = tokenize(text, "f.choreo")
    assert len(diagnostics) == 1
    assert diagnostics[0].code == "E001"
    assert message in diagnostics[0].message


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\f", "\u2028"])
def test_lines_are_counted_as_str_splitlines_counts_them(newline: str) -> None:
    lines = ["// a comment", "choreography X {", "  roles: A, B;", "  A -> B: M; // why", "}", ""]
    text = newline.join(lines)
    result = parse_source(text, "x.choreo")
    assert result.diagnostics == []
    send = result.file.choreographies[0].body[0]
    assert (send.span.line, send.span.column) == (4, 3)
    assert text.splitlines()[send.span.line - 1].startswith("  A -> B")
    assert [c.text for c in result.comments] == ["// a comment", "// why"]
    assert "\r" not in format_source(result.file, result.comments)


def test_tokens_after_strings_comments_and_bad_characters_keep_their_columns() -> None:
    # the lexer scans on from where a string or block comment ends: positions must not drift
    tokens, diagnostics = tokenize('a "s t" b /* c\n d */ e $ f 12 1_0 "u\n', "f.choreo")
    assert [t[:2] + t[3:5] for t in tokens] == [
        (IDENT, "a", 1, 1), (STRING, '"s t"', 1, 3), (IDENT, "b", 1, 9), (IDENT, "e", 2, 7),
        (IDENT, "f", 2, 11), (INT, "12", 2, 13), (INT, "1_0", 2, 16), (STRING, '"u', 2, 20), (EOF, "", 3, 1),
    ]  # fmt: skip
    assert [(d.span.line, d.span.column, d.message) for d in diagnostics] == [
        (2, 9, "unexpected character `$`"), (2, 20, "unterminated string"),
    ]  # fmt: skip
