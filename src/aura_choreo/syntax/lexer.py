"""The lexer: `.choreo` text to tokens, never raising; bad characters become E001 diagnostics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from aura_choreo.diagnostics import Diagnostic, Span, error
from aura_choreo.syntax.tokens import (
    DURATION,
    EOF,
    IDENT,
    INT,
    PUNCTUATION,
    RAW_CLOSE,
    RAW_OPEN,
    STRING,
    Comment,
    Token,
)

_SINGLE_PUNCT = "".join(p for p in PUNCTUATION if len(p) == 1)
_PUNCT = "|".join(re.escape(p) for p in PUNCTUATION if len(p) > 1) + f"|[{re.escape(_SINGLE_PUNCT)}]"
# One match per token: leading blanks are skipped by the same match (this is the hot loop), the
# commonest tokens are tried first, and a character no token starts with is matched too (`bad`), so
# that matches are contiguous and one `finditer` walks the text. Line breaks are those of
# `str.splitlines`, so that lines agree with the diagnostics renderer.
_TOKEN = re.compile(
    rf"""
    [ \t]*
    (?:
     (?P<raw_open>r\#")
    |(?P<ident>[^\W\d]\w*)
    |(?P<line_comment>//[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*)
    |(?P<block_comment>/\*)
    |(?P<punct>{_PUNCT})
    |(?P<nl>\r?\n(?:[ \t]*\r?\n)*)
    |(?P<number>\d[\d_]*(?:[A-Za-z_][A-Za-z0-9_]*)?)
    |(?P<odd_break>\r|[\v\f\x1c\x1d\x1e\x85\u2028\u2029])
    |(?P<quote>")
    |(?P<end>\Z)
    |(?P<bad>.)
    )
    """,
    re.VERBOSE | re.DOTALL,
)
_IDENT_GROUP = _TOKEN.groupindex["ident"]
_PUNCT_GROUP = _TOKEN.groupindex["punct"]
_NEWLINE_GROUP = _TOKEN.groupindex["nl"]
_NUMBER_GROUP = _TOKEN.groupindex["number"]
_END_GROUP = _TOKEN.groupindex["end"]
_LINE_BREAK = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_ESCAPE = re.compile(r"\\(u\{[0-9A-Fa-f]{1,6}\}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}
_NUMBER = re.compile(r"(\d(?:[\d_]*\d)?)(_?)([A-Za-z][A-Za-z0-9_]*)?")

MAX_INT_DIGITS = 1000
_INT_HINT = "integers in a choreography are sizes, counts and durations: a few digits are enough"
_DURATION_HINT = "durations are written like `500ms`, `30s`, `2m`, `1h` or `30_seconds`"
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


def tokenize(text: str, file: str = "<string>") -> tuple[list[Token], list[Diagnostic]]:
    """Split `text` into tokens (ending with an EOF token) and the lexical errors found on the way."""
    tokens, diagnostics, _ = tokenize_with_comments(text, file)
    return tokens, diagnostics


def tokenize_with_comments(
    text: str, file: str = "<string>"
) -> tuple[list[Token], list[Diagnostic], list[Comment]]:
    """`tokenize`, plus the comments in source order (the parser skips them; the formatter puts them back)."""
    plain = _plain_tokens(text)
    if plain is not None:
        return plain[0], [], plain[1]
    lexer = _Lexer(text, file)
    tokens, diagnostics = lexer.run()
    return tokens, diagnostics, lexer.comments


# ---------------------------------------------------------------- the fast path, for plain text
# Most files hold only words, punctuation, plain numbers and durations, strings without escapes, `//`
# comments and `\n` line breaks. Those are lexed here without a match object per token: `findall`
# returns each token with the blanks before it as one string (a "part"), and each distinct part is
# classified once per text, in a dictionary, so that the loop does little more than a look-up and a
# tuple per token (issue 19: lexing bench_parse's file takes 67k instructions per statement, not 97k).
# Anything else (a lexical error, an escape, a raw string, a block comment, another line break, a
# byte-order mark) makes `_plain_tokens` give up and `_Lexer` lex the whole text: it alone reports
# errors. Both give the same tokens and comments for a plain text (tests/syntax/test_lexer_paths.py).

_PLAIN_PART = re.compile(
    r"""[ \t]*(?:r\#"|[^\W\d]\w*"""
    r"""|-(?:>\*?)?|<(?:->|=)?|=[>=]?|::?|\.\.?|!=?|>=?|&&?|\|\|?|[{}()\[\],;+*%@\#?]"""
    r"""|\n(?:[ \t]*\n)*|//[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*|/\*?"""
    r"""|\d[\d_]*(?:[A-Za-z_][A-Za-z0-9_]*)?|"[^"\\\n]*"|[^ \t])"""
)
"""Blanks, then one token, run of line breaks or other character: `_TOKEN`'s alternatives, without
named groups and with the punctuation grouped by its first character (sre skips an alternative that
starts with a literal or a class after one comparison, but enters one that starts with a group). A
part that is not plain (`r#"`, `/*`, a `"` that starts no plain string, any other character) is
refused by `_PartKinds`."""
_PLAIN_ASCII_PART = re.compile(_PLAIN_PART.pattern, re.ASCII)
r"""`_PLAIN_PART` for an ASCII text, where it matches the same (`\w` and `\d` agree on ASCII characters)
and its classes are cheaper to test."""
_PUNCTUATION_SET = frozenset(PUNCTUATION)
_WORD_START = re.compile(r"[^\W\d]")
_LINE_BREAKS: Final = "line breaks"
_COMMENT: Final = "comment"
_Part = tuple[str, str, "int | str", int, int]
"""How a part lexes: (kind, text, value, blanks before the token, width of the part); for a run of
line breaks (kind `_LINE_BREAKS`) the last field is the number of lines it ends instead."""


class _NotPlain(Exception):
    """A part the fast path leaves to `_Lexer`."""


class _PartKinds(dict[str, _Part]):
    """Each part of one text, classified the first time it is seen."""

    def __missing__(self, part: str) -> _Part:
        text = part.lstrip(" \t")
        blanks, width = len(part) - len(text), len(part)
        entry: _Part
        if text in _PUNCTUATION_SET:
            entry = (text, text, text, blanks, width)
        elif text[0] == "\n":
            entry = (_LINE_BREAKS, "", "", 0, text.count("\n"))
        elif text.startswith("//"):
            entry = (_COMMENT, text, text, blanks, width)
        elif text[0] == '"' and len(text) > 1:  # a whole string without escapes (a lone `"` is not)
            entry = (STRING, text, text[1:-1], blanks, width)
        elif text != RAW_OPEN and _WORD_START.match(text):
            entry = (IDENT, text, text, blanks, width)
        elif (number := _plain_number(text)) is not None:
            entry = (number[0], text, number[1], blanks, width)
        else:
            raise _NotPlain
        self[part] = entry
        return entry


def _plain_tokens(text: str) -> tuple[list[Token], list[Comment]] | None:
    """The tokens and comments of a plain `text`, or None if `_Lexer` must lex it."""
    parts = _PartKinds()
    tokens: list[Token] = []
    comments: list[Comment] = []
    append = tokens.append
    line, column, newline = 1, 1, True  # `column`: that of the next part's first character
    try:
        for part in (_PLAIN_ASCII_PART if text.isascii() else _PLAIN_PART).findall(text):
            kind, token_text, value, blanks, width = parts[part]
            if kind is _LINE_BREAKS:
                line += width
                column, newline = 1, True
            elif kind is _COMMENT:
                comments.append(Comment(line, column + blanks, line, token_text))
                column += width
            else:
                append((kind, token_text, value, line, column + blanks, newline))
                column += width
                newline = False
    except _NotPlain:
        return None
    # blanks at the very end are in no part; the end of file is just after the text
    append((EOF, "", "", line, len(text) - text.rfind("\n"), True))
    return tokens, comments


def collect_comments(text: str) -> list[Comment]:
    """The comments of `text` in source order."""
    return tokenize_with_comments(text)[2]


class _Lexer:
    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.tokens: list[Token] = []
        self.diagnostics: list[Diagnostic] = []
        self.line = 1
        self.line_start = 0
        self.newline = True
        self.raw_depth = 0
        self.comments: list[Comment] = []

    def run(self) -> tuple[list[Token], list[Diagnostic]]:
        text = self.text
        pos = self.line_start = 1 if text.startswith("\ufeff") else 0  # a byte-order mark is not text
        append = self.tokens.append
        # locals in the hot loop, synced with self around the helpers; `base` is the offset of the
        # line's column 0, so that a token starting at offset s is in column s - base
        line, line_start, newline = 1, self.line_start, True
        base = line_start - 1
        matches: Iterator[re.Match[str]] | None = _TOKEN.finditer(text, pos)
        while matches is not None:
            resume: Iterator[re.Match[str]] | None = None
            for m in matches:
                group = m.lastindex  # an int: cheaper to test than the group name
                if group == _IDENT_GROUP:
                    value = m[group]
                    append((IDENT, value, value, line, m.start(group) - base, newline))
                    newline = False
                elif group == _PUNCT_GROUP:
                    value = m[group]
                    append((value, value, value, line, m.start(group) - base, newline))
                    newline = False
                elif group == _NEWLINE_GROUP:
                    line_start = m.end()
                    base = line_start - 1
                    line += m.group(group).count("\n")
                    newline = True
                elif group == _NUMBER_GROUP and _is_plain_integer(value := m.group(group)):
                    append((INT, value, int(value), line, m.start(group) - base, newline))
                    newline = False
                elif group == _END_GROUP:
                    break
                else:
                    self.line, self.line_start, self.newline = line, line_start, newline
                    stop = self._rare_token(m)
                    line, line_start, newline = self.line, self.line_start, self.newline
                    base = line_start - 1
                    if stop != m.end():  # a string or comment read past the match: scan on from there
                        resume = _TOKEN.finditer(text, stop)
                        break
            matches = resume
        self.line, self.line_start = line, line_start
        column = len(text) - line_start + 1
        append((EOF, "", "", line, column, True))
        return self.tokens, self.diagnostics

    def _rare_token(self, m: re.Match[str]) -> int:
        """Numbers, strings, comments, raw-string openers and bad characters; returns where to go on."""
        kind = m.lastgroup or ""
        start, stop = m.start(kind), m.end()
        if kind == "odd_break":
            self.line += 1
            self.line_start = stop
            self.newline = True
        elif kind == "line_comment":
            column = start - self.line_start + 1
            self.comments.append(Comment(self.line, column, self.line, m.group(kind)))
        elif kind == "number":
            self._number(start, stop, m.group(kind))
        elif kind == "quote":
            stop = self._string(start)
        elif kind == "block_comment":
            stop = self._block_comment(start)
        elif kind == "raw_open":
            self.raw_depth += 1
            self._add(RAW_OPEN, start, stop, RAW_OPEN)
        else:  # bad: a character no token starts with
            self._error_at(start, 1, f"unexpected character `{_show_char(self.text[start])}`")
        return stop

    def _add(self, kind: str, start: int, stop: int, value: int | str) -> None:
        column = start - self.line_start + 1
        self.tokens.append((kind, self.text[start:stop], value, self.line, column, self.newline))
        self.newline = False

    def _number(self, start: int, stop: int, text: str) -> None:
        m = _NUMBER.fullmatch(text)
        if m is None:  # the token pattern is looser than a number (`0__`): an error, never a crash
            self._error_at(start, stop - start, f"malformed number `{text}`", _INT_HINT)
            self._add(INT, start, stop, 0)
            return
        digits, underscore, unit = m.groups()
        digits = digits.replace("_", "")
        if len(digits) > MAX_INT_DIGITS:  # int() itself refuses past 4300 digits
            self._error_at(
                start, stop - start, f"an integer literal of {len(digits)} digits is too long", _INT_HINT
            )
            digits = "0"
        value = int(digits)
        if unit is None:
            if underscore:
                self._error_at(start, stop - start, f"an integer cannot end in `_`: `{text}`")
            self._add(INT, start, stop, value)
        elif unit in MILLIS_PER_UNIT:
            self._add(DURATION, start, stop, value * MILLIS_PER_UNIT[unit])
        else:
            self._error_at(start, stop - start, f"unknown duration unit `{unit}` in `{text}`", _DURATION_HINT)
            self._add(INT, start, stop, value)

    def _string(self, start: int) -> int:
        if self.raw_depth and self.text.startswith(RAW_CLOSE, start):
            self.raw_depth -= 1
            self._add(RAW_CLOSE, start, start + 2, RAW_CLOSE)
            return start + 2
        m = _STRING.match(self.text, start)
        if m is None:
            stop = self.text.find("\n", start)
            stop = len(self.text) if stop < 0 else stop
            self._error_at(start, stop - start, "unterminated string", 'close it with `"` on the same line')
            self._add(STRING, start, stop, self.text[start + 1 : stop])
            return stop
        self._add(STRING, start, m.end(), self._unescape(m.group(1), start + 1))
        return m.end()

    def _unescape(self, body: str, offset: int) -> str:
        if "\\" not in body:
            return body

        def replace(m: re.Match[str]) -> str:
            code = m.group(1)
            if code in _SIMPLE_ESCAPES:
                return _SIMPLE_ESCAPES[code]
            if code.startswith("u{"):
                value = int(code[2:-1], 16)
                if value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF:
                    return chr(value)
            self._error_at(
                offset + m.start(),
                m.end() - m.start(),
                f"unknown escape `\\{code}` in a string",
                'use `\\"`, `\\\\`, `\\n`, `\\t` or `\\u{hex}`',
            )
            return code

        return _ESCAPE.sub(replace, body)

    def _block_comment(self, start: int) -> int:
        text, depth, pos = self.text, 1, start + 2
        while depth:
            open_at = text.find("/*", pos)
            close_at = text.find("*/", pos)
            if close_at < 0:
                self._error_at(start, 2, "unterminated comment", "close it with `*/`")
                pos = len(text)
                break
            if 0 <= open_at < close_at:
                depth, pos = depth + 1, open_at + 2
            else:
                depth, pos = depth - 1, close_at + 2
        newlines = len(_LINE_BREAK.findall(text, start, pos))
        column = start - self.line_start + 1
        self.comments.append(Comment(self.line, column, self.line + newlines, text[start:pos]))
        if newlines:
            self.line += newlines
            self.line_start = [m.end() for m in _LINE_BREAK.finditer(text, start, pos)][-1]
            self.newline = True
        return pos

    def _error_at(self, start: int, width: int, message: str, *hints: str) -> None:
        column = start - self.line_start + 1
        span = Span.point(self.file, self.line, column, width)
        self.diagnostics.append(error("E001", span, message, *hints))


def _plain_number(text: str) -> tuple[str, int] | None:
    """The kind and value of a number that `_Lexer._number` reads without a diagnostic, else None."""
    m = _NUMBER.fullmatch(text)
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


def _is_plain_integer(text: str) -> bool:
    """Digits only, few enough for `int`: the common number, lexed without `_number`'s checks."""
    return text.isdecimal() and len(text) <= MAX_INT_DIGITS


def _show_char(char: str) -> str:
    return char if char.isprintable() else f"\\u{{{ord(char):x}}}"
