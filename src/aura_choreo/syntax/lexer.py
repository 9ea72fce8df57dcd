"""The lexer: `.choreo` text to tokens, never raising; bad characters become E001 diagnostics."""

from __future__ import annotations

import re
from collections.abc import Iterator

from aura_choreo.diagnostics import Diagnostic, Span, error
from aura_choreo.syntax.plain_lexer import MAX_INT_DIGITS, MILLIS_PER_UNIT, plain_tokens
from aura_choreo.syntax.plain_lexer import NUMBER as _NUMBER
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
_INT_HINT = "integers in a choreography are sizes, counts and durations: a few digits are enough"
_DURATION_HINT = "durations are written like `500ms`, `30s`, `2m`, `1h` or `30_seconds`"


def tokenize(text: str, file: str = "<string>") -> tuple[list[Token], list[Diagnostic]]:
    """Split `text` into tokens (ending with an EOF token) and the lexical errors found on the way."""
    tokens, diagnostics, _ = tokenize_with_comments(text, file)
    return tokens, diagnostics


def tokenize_with_comments(
    text: str, file: str = "<string>"
) -> tuple[list[Token], list[Diagnostic], list[Comment]]:
    """`tokenize`, plus the comments in source order (the parser skips them; the formatter puts them back)."""
    plain = plain_tokens(text)
    if plain is not None:
        return plain[0], [], plain[1]
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


def _is_plain_integer(text: str) -> bool:
    """Digits only, few enough for `int`: the common number, lexed without `_number`'s checks."""
    return text.isdecimal() and len(text) <= MAX_INT_DIGITS


def _show_char(char: str) -> str:
    return char if char.isprintable() else f"\\u{{{ord(char):x}}}"
