"""The lexer's two paths: `plain_lexer` for plain text and `_Lexer` for everything else agree exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aura_choreo.syntax import lexer, plain_lexer
from aura_choreo.syntax.tokens import PUNCTUATION
from conftest import LITERATURE_CORPUS, seed_files

CORPUS = seed_files() + sorted(LITERATURE_CORPUS.glob("*.choreo"))


def general(text: str) -> tuple[list[object], list[object], list[object]]:
    """What `_Lexer` (the general path, which reports errors) makes of `text`."""
    lex = lexer._Lexer(text, "<string>")
    tokens, diagnostics = lex.run()
    return list(tokens), list(diagnostics), list(lex.comments)


def assert_paths_agree(text: str) -> None:
    plain = plain_lexer.plain_tokens(text)
    tokens, diagnostics, comments = general(text)
    if plain is not None:
        assert diagnostics == []  # the fast path never takes a text that has a lexical error
        assert plain[0] == tokens
        assert plain[1] == comments
    assert lexer.tokenize_with_comments(text) == (tokens, diagnostics, comments)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_files_take_the_fast_path_with_the_same_tokens(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert plain_lexer.plain_tokens(text) is not None
    assert_paths_agree(text)


@pytest.mark.parametrize(
    "text",
    [
        "a\r\nb",  # a line break other than \n
        "a\x85b",
        "a // c\u2028b",  # a line comment ends at any line break
        "\ufeffa",  # a byte-order mark
        'a "x\\ny" b',  # an escape
        'a "open',  # an unterminated string
        'r#"a"#',  # a raw wrapper
        "a /* c */ b",
        "a $ b",  # a character no token starts with
        "0__",
        "12xyz",  # an unknown duration unit
        "1" * 1001,  # too many digits
        "a\0b",
    ],
)
def test_what_is_not_plain_goes_to_the_general_lexer(text: str) -> None:
    assert plain_lexer.plain_tokens(text) is None
    assert_paths_agree(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n\n  \n",
        "a",
        "  a  ",
        "a\n  \n\t b\n",
        "x // note  \n  // alone\ny",
        "Send -> B: M(id: u64, t: Vec<String>); A[flow_cost = 5] -> B: N",
        "timeout (30s) { } x = 1_000 + 2ms - 3 ->* <-> => :: .. == != <= >= && || !",
        'a "" "x y" b',
        "é -> 名前: Ünïcode(٣: x)",
        "1..5 a[0..2] -1",
        'a  "x  y"  b // c "d\n  e',  # a string with spaces and a comment: the line is lexed whole
        'x"y z"w "a"b',
        '"//" x\n"a" "b c"',
        "\ta\t b \t\n \t",
        "a//b c\n  d",
    ],
)
def test_plain_texts_take_the_fast_path(text: str) -> None:
    assert plain_lexer.plain_tokens(text) is not None
    assert_paths_agree(text)


_PIECES = [
    *PUNCTUATION,
    *"abc_Zé名٣",
    "send",
    "R1",
    "0",
    "42",
    "1_000",
    "1_",
    "30s",
    "5ms",
    "2xyz",
    '"s t"',
    '"',
    '"\\n"',
    "//c",
    "/*",
    "*/",
    'r#"',
    '"#',
    " ",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "\x0b",
    "\u2028",
    "\x85",
    "\ufeff",
    "\0",
    "$",
    "\u202e",
]


@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_both_paths_agree_on_any_sequence_of_pieces(pieces: list[str]) -> None:
    assert_paths_agree("".join(pieces))


@given(st.text(alphabet=st.sampled_from(' \t\n"/*#r-<>=:.!&|{}()[],;+%@?_aZ09é٣\r\x85'), max_size=60))
def test_both_paths_agree_on_any_text(text: str) -> None:
    assert_paths_agree(text)


_PLAIN_PIECES = [*PUNCTUATION, "a", "é", "R1", "0", "1_000", "30s", "5ms", '"s t"', '""', "//c", "\n", "\t"]


@given(st.lists(st.sampled_from(_PLAIN_PIECES), max_size=40))
def test_plain_pieces_apart_take_the_fast_path(pieces: list[str]) -> None:
    text = " ".join(pieces)
    assert plain_lexer.plain_tokens(text) is not None
    assert_paths_agree(text)
