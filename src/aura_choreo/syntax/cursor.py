"""The parser's view of the token list: look-ahead, expectations in words, and error recovery."""

from __future__ import annotations

from typing import NoReturn

from aura_choreo.diagnostics import Diagnostic, Span, error
from aura_choreo.syntax.node_build import SpanDraft
from aura_choreo.syntax.tokens import (
    COLUMN,
    EOF,
    IDENT,
    KIND,
    LINE,
    NEWLINE_BEFORE,
    TEXT,
    VALUE,
    Token,
    describe,
    token_span,
)

_STATEMENT_KEYWORDS = frozenset(
    "choice match if loop for break rec continue parallel par barrier let protocol call compose "
    "sub_protocol timeout try".split()
)
_PARTICIPANT_FOLLOWERS = frozenset({"->", "<->", "->*", ":", "["})
MAX_NESTING = 60
_OPENERS = {"{": "}", "(": ")", "[": "]"}


class ParseFailure(Exception):
    """Raised after a syntax error has been recorded, to unwind to the nearest recovery point."""


class NestingTooDeep(Exception):
    """Raised (after its error is recorded) when blocks nest past MAX_NESTING: the whole parse stops,
    since recovering would report every deeper block and every unmatched `}` again."""


class Cursor:
    """A position in the token list of one file, plus the diagnostics found so far."""

    def __init__(self, tokens: list[Token], file: str) -> None:
        # a second EOF lets `accept`/`expect` step past the last token without a bounds check
        self.tokens = [*tokens, tokens[-1]]
        self.file = file
        self.pos = 0
        self.token = self.tokens[0]
        """The current token (kept as an attribute: it is read on every step)."""
        self.depth = 0
        self.diagnostics: list[Diagnostic] = []

    # ------------------------------------------------------------ looking

    def peek(self, offset: int = 1) -> Token:
        index = self.pos + offset
        tokens = self.tokens
        return tokens[index] if index < len(tokens) else tokens[-1]

    def at(self, kind: str) -> bool:
        return self.token[KIND] == kind

    def at_word(self, word: str) -> bool:
        token = self.token
        return token[KIND] == IDENT and token[VALUE] == word

    def at_end(self) -> bool:
        return self.token[KIND] == EOF

    def previous(self) -> Token:
        return self.tokens[max(self.pos - 1, 0)]

    # ------------------------------------------------------------ consuming

    def advance(self) -> Token:
        token = self.token
        if token[KIND] != EOF:
            self.pos += 1
            self.token = self.tokens[self.pos]
        return token

    def accept(self, kind: str) -> Token | None:
        token = self.token
        if token[KIND] == kind:
            self.pos += 1
            self.token = self.tokens[self.pos]
            return token
        return None

    def accept_word(self, word: str) -> Token | None:
        if self.at_word(word):
            return self.advance()
        return None

    def expect(self, kind: str, what: str | None = None) -> Token:
        token = self.token
        if token[KIND] != kind:
            self.fail(what or f"`{kind}`")
        self.pos += 1
        self.token = self.tokens[self.pos]
        return token

    def expect_word(self, word: str) -> Token:
        if not self.at_word(word):
            self.fail(f"`{word}`")
        return self.advance()

    def expect_ident(self, what: str) -> Token:
        token = self.token
        if token[KIND] != IDENT:
            self.fail(what)
        self.pos += 1
        self.token = self.tokens[self.pos]
        return token

    def descend(self) -> None:
        """Enter a nested block, bracket or type; deep nesting is an error, not a RecursionError."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            self.report(
                token_span(self.token, self.file),
                f"blocks are nested more than {MAX_NESTING} levels deep",
                "move the inner part into its own `protocol` and `call` it",
            )
            raise NestingTooDeep

    def ascend(self) -> None:
        self.depth -= 1

    # ------------------------------------------------------------ spans

    def span_from(self, start: Token) -> Span:
        """The span from the start of `start` to the end of the last consumed token."""
        end = self.tokens[self.pos - 1] if self.pos else start
        # a draft filled in and then made a Span (see syntax/node_build.py): the parser makes one span
        # per node, and the dataclass `__init__` took a third of the parse (issue 19)
        span = SpanDraft()
        span.file = self.file
        span.line = start[LINE]
        span.column = start[COLUMN]
        span.end_line = end[LINE]
        span.end_column = end[COLUMN] + (len(end[TEXT]) or 1)
        span.__class__ = Span
        return span  # type: ignore[no-any-return]

    # ------------------------------------------------------------ errors

    def fail(self, expected: str, *hints: str) -> NoReturn:
        """Record `expected X, found Y` at the current token and raise ParseFailure."""
        token = self.token
        self.report(token_span(token, self.file), f"expected {expected}, found {describe(token)}", *hints)
        raise ParseFailure

    def report(self, span: Span, message: str, *hints: str) -> None:
        self.diagnostics.append(error("E001", span, message, *hints))

    def report_unclosed_block(self, opening: Token) -> None:
        """Record that the `}` of the block opened at `opening` is missing (without unwinding)."""
        token = self.token
        self.report(
            token_span(token, self.file),
            f"expected `}}` to close the block opened at line {opening[LINE]}, found {describe(token)}",
        )

    def synchronise(self, start: int) -> None:
        """Skip to the start of the next statement after an error at token index `start`.

        Stops after a `;`, before a `}` that closes the current block, or before a line that starts
        like a statement; brackets opened while skipping are skipped whole.
        """
        depth = 0
        while not self.at_end():
            token = self.token
            if depth == 0 and self.pos > start:
                if token[KIND] == "}" or (token[NEWLINE_BEFORE] and self.looks_like_statement_start()):
                    return
            if token[KIND] in _OPENERS:
                depth += 1
            elif token[KIND] in ("}", ")", "]"):
                depth = max(depth - 1, 0)
            elif token[KIND] == ";" and depth == 0:
                self.advance()
                return
            self.advance()

    def looks_like_statement_start(self) -> bool:
        token, following = self.token, self.peek()
        if token[KIND] == "@" or token[KIND] == "#":
            return True
        if token[KIND] != IDENT:
            return False
        if following[KIND] in _PARTICIPANT_FOLLOWERS:
            return following[KIND] != "[" or not following[NEWLINE_BEFORE]
        return token[VALUE] in _STATEMENT_KEYWORDS or token[VALUE] in ("choreography", "import", "roles")
