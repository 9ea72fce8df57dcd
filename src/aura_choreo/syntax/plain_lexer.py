"""The lexer's fast path, for plain text: the same tokens as `lexer._Lexer` at a fraction of the cost.

Most files hold only words, punctuation, plain numbers and durations, strings without escapes, `//`
comments, blanks and `\n` line breaks. `plain_tokens` lexes those; anything else (a lexical error,
an escape, a raw string, a block comment, another line break, a byte-order mark) makes it give up,
and `_Lexer` lexes the whole text: it alone reports errors. Both give the same tokens and comments
for a plain text (tests/syntax/test_lexer_paths.py).

Why it is faster (issue 19): the general lexer makes a match object per token and looks at it from
Python several times. Here a line is cut at its spaces by `str.split`, and each distinct piece (a
"chunk", such as `R0:` or `u64);`) is lexed once per text and kept in a dictionary with its tokens'
offsets, so that most tokens cost a look-up and a tuple. A chunk that may hold part of a string or a
comment (one with `"` or `//` that does not lex alone) sends its line to `_line_tokens`, which lexes
the line with one `findall` (again without match objects).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from aura_choreo.syntax.tokens import DURATION, EOF, IDENT, INT, PUNCTUATION, RAW_OPEN, STRING, Comment, Token

NUMBER = re.compile(r"(\d(?:[\d_]*\d)?)(_?)([A-Za-z][A-Za-z0-9_]*)?")
"""A number as written: digits (with `_` between them), a trailing `_`, and a unit."""
MAX_INT_DIGITS = 1000
MILLIS_PER_UNIT = {
    "ms": 1,
    "millis": 1,
    "millisecond": 1,
    "milliseconds": 1,
    "s": 1000,
    "sec": 1000,
    "secs": 1000,
    "second": 1000,
    "seconds": 1000,
    "m": 60_000,
    "min": 60_000,
    "mins": 60_000,
    "minute": 60_000,
    "minutes": 60_000,
    "h": 3_600_000,
    "hour": 3_600_000,
    "hours": 3_600_000,
}

_PLAIN_PART = re.compile(
    r"""[ \t]*(?:r\#"|[^\W\d]\w*"""
    r"""|-(?:>\*?)?|<(?:->|=)?|=[>=]?|::?|\.\.?|!=?|>=?|&&?|\|\|?|[{}()\[\],;+*%@\#?]"""
    r"""|//[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*|/\*?"""
    r"""|\d[\d_]*(?:[A-Za-z_][A-Za-z0-9_]*)?|"[^"\\\n]*"|[^ \t])"""
)
"""Blanks, then one token or other character, in a text without line breaks: the general lexer's
alternatives, without named groups and with the punctuation grouped by its first character (sre
skips an alternative that starts with a literal or a class after one comparison, but enters one that
starts with a group). A part that is not plain (`r#"`, `/*`, a `"` that starts no plain string, any
other character) is refused by `_classify`."""
_PLAIN_ASCII_PART = re.compile(_PLAIN_PART.pattern, re.ASCII)
r"""`_PLAIN_PART` for an ASCII line, where it matches the same (`\w` and `\d` agree on ASCII characters)
and its classes are cheaper to test."""
_PUNCTUATION_SET = frozenset(PUNCTUATION)
_WORD_START = re.compile(r"[^\W\d]")
_COMMENT: Final = "comment"
_Part = tuple[str, str, "int | str", int, int]
"""How a part lexes: (kind, text, value, blanks before the token, width of the part)."""
_Chunk = tuple[int, tuple[tuple[str, str, "int | str", int], ...]] | None
"""How a chunk lexes: (its width plus the space after it, (kind, text, value, offset) of each token),
or None if its line must be lexed whole."""


class _NotPlain(Exception):
    """A part the fast path leaves to `_Lexer`."""


def plain_number(text: str) -> tuple[str, int] | None:
    """The kind and value of a number that `_Lexer` reads without a diagnostic, else None."""
    m = NUMBER.fullmatch(text)
    if m is None:
        return None
    digits, underscore, unit = m.groups()
    digits = digits.replace("_", "")
    if len(digits) > MAX_INT_DIGITS:
        return None
    if unit is None:
        return None if underscore else (INT, int(digits))
    millis = MILLIS_PER_UNIT.get(unit)
    return None if millis is None else (DURATION, int(digits) * millis)


def _classify(part: str) -> _Part:
    """How `part` lexes; raises `_NotPlain` for a part that is not plain."""
    text = part.lstrip(" \t")
    blanks, width = len(part) - len(text), len(part)
    if text in _PUNCTUATION_SET:
        return (text, text, text, blanks, width)
    if text.startswith("//"):
        return (_COMMENT, text, text, blanks, width)
    if text[0] == '"' and len(text) > 1:  # a whole string without escapes (a lone `"` is not)
        return (STRING, text, text[1:-1], blanks, width)
    if text != RAW_OPEN and _WORD_START.match(text):
        return (IDENT, text, text, blanks, width)
    number = plain_number(text)
    if number is None:
        raise _NotPlain
    return (number[0], text, number[1], blanks, width)


class _Parts(dict[str, _Part]):
    """Each part of one text's lines that are lexed whole, classified the first time it is seen."""

    def __missing__(self, part: str) -> _Part:
        entry = self[part] = _classify(part)
        return entry


class _Chunks(dict[str, _Chunk]):
    """Each chunk of one text, lexed the first time it is seen."""

    def __missing__(self, chunk: str) -> _Chunk:
        entry: _Chunk = None
        try:
            tokens: list[tuple[str, str, int | str, int]] = []
            offset = 0
            for part in _PLAIN_PART.findall(chunk):
                kind, text, value, blanks, width = _classify(part)
                if kind is _COMMENT:  # it goes on past this chunk, to the end of the line
                    raise _NotPlain
                tokens.append((kind, text, value, offset + blanks))
                offset += width
            entry = (len(chunk) + 1, tuple(tokens))
        except _NotPlain:  # maybe just a string with a space in it: `_line_tokens` decides
            pass
        self[chunk] = entry
        return entry


def plain_tokens(text: str) -> tuple[list[Token], list[Comment]] | None:
    """The tokens (ending with an EOF token) and comments of a plain `text`, or None if it is not plain."""
    chunks, parts = _Chunks(), _Parts()
    tokens: list[Token] = []
    comments: list[Comment] = []
    append = tokens.append
    number = 0
    line = ""
    try:
        for line in text.split("\n"):
            number += 1
            words = line.lstrip(" ")
            if not words:
                continue
            column = len(line) - len(words) + 1  # that of the next chunk
            newline = True
            mark = len(tokens)
            for chunk in words.split(" "):
                if not chunk:  # between two spaces
                    column += 1
                    continue
                entry = chunks[chunk]
                if entry is None:
                    del tokens[mark:]
                    _line_tokens(line, number, parts, append, comments)
                    break
                width, chunk_tokens = entry
                for kind, token_text, value, offset in chunk_tokens:
                    append((kind, token_text, value, number, column + offset, newline))
                    newline = False
                column += width
    except _NotPlain:
        return None
    append((EOF, "", "", number, len(line) + 1, True))
    return tokens, comments


def _line_tokens(
    line: str, number: int, parts: _Parts, append: Callable[[Token], None], comments: list[Comment]
) -> None:
    """Lex line `number` whole (it has a string with spaces or a comment); raises `_NotPlain`."""
    column, newline = 1, True  # `column`: that of the next part's first character
    for part in (_PLAIN_ASCII_PART if line.isascii() else _PLAIN_PART).findall(line):
        kind, token_text, value, blanks, width = parts[part]
        if kind is _COMMENT:
            comments.append(Comment(number, column + blanks, number, token_text))
        else:
            append((kind, token_text, value, number, column + blanks, newline))
            newline = False
        column += width
