"""Tokens of the `.choreo` language and how to name them in error messages."""

from __future__ import annotations

from aura_choreo.diagnostics import Span

IDENT = "identifier"
INT = "integer"
STRING = "string"
DURATION = "duration"
RAW_OPEN = 'r#"'
RAW_CLOSE = '"#'
EOF = "end of file"

PUNCTUATION = (
    "->*",
    "<->",
    "->",
    "=>",
    "::",
    "..",
    "==",
    "!=",
    "<=",
    ">=",
    "&&",
    "||",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "<",
    ">",
    ",",
    ";",
    ":",
    ".",
    "=",
    "|",
    "+",
    "-",
    "*",
    "/",
    "%",
    "!",
    "@",
    "#",
    "&",
    "?",
)


class Token:
    """One token: its kind (a punctuation string or one of the kind names above), its value and place.

    `newline_before` says whether a line break separates it from the previous token: statements end
    at a newline only where the next token cannot continue them.
    """

    __slots__ = ("column", "end_column", "end_line", "kind", "line", "newline_before", "text", "value")

    def __init__(
        self,
        kind: str,
        text: str,
        value: int | str,
        line: int,
        column: int,
        end_line: int,
        end_column: int,
        newline_before: bool,
    ) -> None:
        self.kind = kind
        self.text = text
        self.value = value
        self.line = line
        self.column = column
        self.end_line = end_line
        self.end_column = end_column
        self.newline_before = newline_before

    def span(self, file: str) -> Span:
        return Span(file, self.line, self.column, self.end_line, self.end_column)

    def is_word(self, word: str) -> bool:
        """Whether this is the identifier `word` (keywords are identifiers in the right place)."""
        return self.kind == IDENT and self.value == word

    def describe(self) -> str:
        """The token as an error message names it: `` `}` ``, `` identifier `Foo` ``, `end of file`."""
        if self.kind == EOF:
            return "end of file"
        if self.kind == IDENT:
            return f"`{self.text}`"
        if self.kind in (INT, DURATION):
            return f"{self.kind} `{self.text}`"
        if self.kind == STRING:
            shown = self.text if len(self.text) <= 24 else self.text[:20] + '..."'
            return f"string {shown}"
        return f"`{self.text}`"

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.text!r}, {self.line}:{self.column})"
