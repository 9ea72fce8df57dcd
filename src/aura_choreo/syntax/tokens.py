"""Tokens of the `.choreo` language and how to name them in error messages."""

from __future__ import annotations

from typing import Final, NamedTuple

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


Token = tuple[str, str, "int | str", int, int, bool]
"""One token: (kind, text, value, line, column, newline_before); read its fields with the indices below.

`kind` is a punctuation string or one of the kind names above. Tokens never span lines.
`newline_before` says whether a line break separates it from the previous token: statements end at
a newline only where the next token cannot continue them. A plain tuple, not a named tuple: the
lexer makes one per word of input (converting them to a named tuple was a fifth of lexing), and the
parser reads a field several times per token, where `token[KIND]` costs a fraction of `token.kind`
(issue 19).
"""

KIND: Final = 0
TEXT: Final = 1
VALUE: Final = 2
LINE: Final = 3
COLUMN: Final = 4
NEWLINE_BEFORE: Final = 5


def token_span(token: Token, file: str) -> Span:
    """The span of `token` (at least one column wide: the end of file has no text)."""
    return Span(file, token[LINE], token[COLUMN], token[LINE], token[COLUMN] + max(len(token[TEXT]), 1))


def is_word(token: Token, word: str) -> bool:
    """Whether `token` is the identifier `word` (keywords are identifiers in the right place)."""
    return token[KIND] == IDENT and token[VALUE] == word


def describe(token: Token) -> str:
    """The token as an error message names it: `` `}` ``, `` identifier `Foo` ``, `end of file`."""
    kind, text = token[KIND], token[TEXT]
    if kind == EOF:
        return "end of file"
    shown = text if len(text) <= 40 else text[:36] + "..."
    if kind == IDENT:
        return f"`{shown}`"
    if kind in (INT, DURATION):
        return f"{kind} `{shown}`"
    if kind == STRING:
        shown = text if len(text) <= 24 else text[:20] + '..."'
        return f"string {shown}"
    return f"`{text}`"


class Comment(NamedTuple):
    """A `// ...` or `/* ... */` comment: where it starts, the line it ends on, and its text."""

    line: int
    column: int
    end_line: int
    text: str
