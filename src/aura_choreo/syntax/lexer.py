"""The lexer: `.choreo` text to tokens, never raising; bad characters become E001 diagnostics."""

from __future__ import annotations

import re

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
    make_token,
)

_PUNCT = "|".join(re.escape(p) for p in PUNCTUATION)
# One match per token: leading blanks are skipped by the same match (this is the hot loop). Line
# breaks are those of `str.splitlines`, so that lines agree with the diagnostics renderer.
_TOKEN = re.compile(
    rf"""
    [ \t]*
    (?:
     (?P<nl>\r?\n(?:[ \t]*\r?\n)*)
    |(?P<line_comment>//[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*)
    |(?P<block_comment>/\*)
    |(?P<raw_open>r\#")
    |(?P<ident>[^\W\d]\w*)
    |(?P<punct>{_PUNCT})
    |(?P<number>\d[\d_]*(?:[A-Za-z_][A-Za-z0-9_]*)?)
    |(?P<odd_break>\r|[\v\f\x1c\x1d\x1e\x85\u2028\u2029])
    |(?P<quote>")
    |(?P<end>\Z)
    )
    """,
    re.VERBOSE,
)
_IDENT_GROUP = _TOKEN.groupindex["ident"]
_PUNCT_GROUP = _TOKEN.groupindex["punct"]
_NEWLINE_GROUP = _TOKEN.groupindex["nl"]
_LINE_COMMENT_GROUP = _TOKEN.groupindex["line_comment"]
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
    return _Lexer(text, file).run()


def tokenize_with_comments(
    text: str, file: str = "<string>"
) -> tuple[list[Token], list[Diagnostic], list[Comment]]:
    """`tokenize`, plus the comments in source order (the parser skips them; the formatter puts them back)."""
    lexer = _Lexer(text, file)
    tokens, diagnostics = lexer.run()
    return tokens, diagnostics, lexer.comments


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
        match = _TOKEN.match
        tokens = self.tokens
        make = make_token
        # locals in the hot loop, synced with self around the helpers
        line, line_start, newline = 1, self.line_start, True
        append = tokens.append
        while True:
            m = match(text, pos)
            if m is None:  # blanks, then a character no token starts with
                self.line, self.line_start = line, line_start
                pos = self._bad_character(pos)
                continue
            group = m.lastindex  # an int: cheaper to test than the group name
            if group == _IDENT_GROUP:
                value = m.group(group)
                pos = m.end()
                append(make(Token, (IDENT, value, value, line, pos - len(value) - line_start + 1, newline)))
                newline = False
            elif group == _PUNCT_GROUP:
                value = m.group(group)
                pos = m.end()
                append(make(Token, (value, value, value, line, pos - len(value) - line_start + 1, newline)))
                newline = False
            elif group == _NEWLINE_GROUP:
                pos = line_start = m.end()
                line += m.group(group).count("\n")
                newline = True
            elif group == _LINE_COMMENT_GROUP:
                comment = m.group(group)
                pos = m.end()
                self.comments.append(Comment(line, pos - len(comment) - line_start + 1, line, comment))
            elif group == _END_GROUP:
                break
            else:
                self.line, self.line_start, self.newline = line, line_start, newline
                pos = self._rare_token(m, pos)
                line, line_start, newline = self.line, self.line_start, self.newline
        self.line, self.line_start = line, line_start
        column = len(text) - line_start + 1
        tokens.append(Token(EOF, "", "", line, column, True))
        return tokens, self.diagnostics

    def _bad_character(self, pos: int) -> int:
        start = len(self.text) - len(self.text[pos:].lstrip(" \t"))
        self._error_at(start, 1, f"unexpected character `{_show_char(self.text[start])}`")
        return start + 1

    def _rare_token(self, m: re.Match[str], pos: int) -> int:
        """Numbers, strings, comments and raw-string openers; returns where to go on."""
        kind = m.lastgroup or ""
        start, stop = m.start(kind), m.end()
        if kind == "odd_break":
            self.line += 1
            self.line_start = stop
            self.newline = True
        elif kind == "number":
            self._number(start, stop, m.group(kind))
        elif kind == "quote":
            stop = self._string(start)
        elif kind == "block_comment":
            stop = self._block_comment(start)
        else:  # raw_open
            self.raw_depth += 1
            self._add(RAW_OPEN, start, stop, RAW_OPEN)
        return stop

    def _add(self, kind: str, start: int, stop: int, value: int | str) -> None:
        column = start - self.line_start + 1
        self.tokens.append(Token(kind, self.text[start:stop], value, self.line, column, self.newline))
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


def _show_char(char: str) -> str:
    return char if char.isprintable() else f"\\u{{{ord(char):x}}}"
