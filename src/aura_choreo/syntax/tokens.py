"""Tokens of the `.choreo` language and how to name them in error messages."""

from __future__ import annotations

from typing import NamedTuple

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


class Token(NamedTuple):
    """One token: its kind (a punctuation string or one of the kind names above), its value and place.

    A named tuple because the lexer makes one per word of input: building one is a single C call.
    Tokens never span lines. `newline_before` says whether a line break separates it from the
    previous token: statements end at a newline only where the next token cannot continue them.
    """

    kind: str
    text: str
    value: int | str
    line: int
    column: int
    newline_before: bool

    @property
    def end_column(self) -> int:
        return self.column + max(len(self.text), 1)

    def span(self, file: str) -> Span:
        return Span(file, self.line, self.column, self.line, self.column + max(len(self.text), 1))

    def is_word(self, word: str) -> bool:
        """Whether this is the identifier `word` (keywords are identifiers in the right place)."""
        return self.kind == IDENT and self.value == word

    def describe(self) -> str:
        """The token as an error message names it: `` `}` ``, `` identifier `Foo` ``, `end of file`."""
        if self.kind == EOF:
            return "end of file"
        shown = self.text if len(self.text) <= 40 else self.text[:36] + "..."
        if self.kind == IDENT:
            return f"`{shown}`"
        if self.kind in (INT, DURATION):
            return f"{self.kind} `{shown}`"
        if self.kind == STRING:
            shown = self.text if len(self.text) <= 24 else self.text[:20] + '..."'
            return f"string {shown}"
        return f"`{self.text}`"


class Comment(NamedTuple):
    """A `// ...` or `/* ... */` comment: where it starts, the line it ends on, and its text."""

    line: int
    column: int
    end_line: int
    text: str


make_token = tuple.__new__
"""`make_token(Token, (kind, text, value, line, column, newline_before))`: the fast constructor."""
