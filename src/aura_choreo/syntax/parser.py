"""Entry points: `.choreo` text to a `SourceFile` plus every diagnostic, never raising on bad input."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aura_choreo.diagnostics import Diagnostic, Span, error, has_errors, sort_diagnostics
from aura_choreo.errors import ChoreographyError
from aura_choreo.syntax.annotation_checks import check_annotations
from aura_choreo.syntax.ast import SourceFile
from aura_choreo.syntax.cursor import Cursor, NestingTooDeep
from aura_choreo.syntax.lexer import tokenize_with_comments
from aura_choreo.syntax.names import check_role_names
from aura_choreo.syntax.tokens import Comment
from aura_choreo.syntax.toplevel import parse_file


@dataclass(frozen=True)
class ParseResult:
    """A parsed file and its diagnostics (syntax, names, annotations), sorted by position."""

    file: SourceFile
    diagnostics: list[Diagnostic]
    comments: list[Comment] = field(default_factory=list)
    """The source's comments, for `format_source` to put back."""

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def parse_source(
    text: str, filename: str = "<string>", *, extra_annotation_keys: Iterable[str] = ()
) -> ParseResult:
    """Parse `text` and run the name and annotation checks; every error of the file is reported.

    `extra_annotation_keys` are annotation keys registered by extensions: no W101 for them.
    """
    with _cyclic_gc_paused():
        file, diagnostics, comments = _parse_text(text, filename)
        # The checks allocate too; with the collector on they would rescan the whole tree (issue 19).
        diagnostics.extend(check_file(file, extra_annotation_keys))
    return ParseResult(file, sort_diagnostics(diagnostics), comments)


def _parse_text(text: str, filename: str) -> tuple[SourceFile, list[Diagnostic], list[Comment]]:
    """Lex and parse; the tokens die on return, before the garbage collector resumes and would scan them."""
    tokens, diagnostics, comments = tokenize_with_comments(text, filename)
    cursor = Cursor(tokens, filename)
    try:
        file = parse_file(cursor)
    except NestingTooDeep:
        file = SourceFile(filename, (), ())
    except RecursionError:  # the nesting limit should make this unreachable; belt and braces
        file = SourceFile(filename, (), ())
        diagnostics.append(
            error("E001", Span.point(filename, 1, 1), "the file is nested too deeply to parse")
        )
    lexical = {(d.span.line, d.span.column) for d in diagnostics}
    # a bad token already has its lexical error; "expected X, found <bad token>" there would say it twice
    diagnostics.extend(d for d in cursor.diagnostics if (d.span.line, d.span.column) not in lexical)
    return file, diagnostics, comments


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while parsing, and resume it without scanning the new tree.

    Parsing allocates hundreds of thousands of long-lived, acyclic objects (nodes, spans, tuples);
    each full collection would walk all of them again, which makes parse time grow faster than the
    input (measured: 10x the statements took 13x the time). Reference counting still frees garbage.

    Resuming plainly would only move the work: every object allocated while paused still counts as
    young, so the first allocation after `gc.enable()` starts a collection that scans the whole new
    tree (60-75 ms of a 550 ms parse of 10,000 statements, issue 19). So the parse's objects are
    promoted to the oldest generation unscanned: `gc.freeze()` moves every tracked object to the
    permanent generation and zeroes the allocation count, and `gc.unfreeze()` at once puts them all
    into the oldest generation. Promoted that way, objects are not counted towards the next full
    collection, so the caller's young objects must not be among them: a process that made cyclic
    garbage between parses would keep it until some unrelated full collection (measured: 1.1 GB
    instead of 14 MB after 20,000 small parses). Hence the young generations are collected first,
    as they would have been soon anyway (this only brings that collection forward), and what gets
    promoted unexamined is the parse's own output, which is acyclic and freed by reference counting.
    A caller that froze objects itself (`gc.get_freeze_count()` > 0, e.g. before forking) keeps them
    frozen: then the collector is just paused and resumed.
    """
    was_enabled = gc.isenabled()
    promote = was_enabled and gc.get_freeze_count() == 0
    if promote:
        gc.collect(1)
    gc.disable()
    try:
        yield
    finally:
        if promote:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def parse(text: str, filename: str = "<string>") -> SourceFile:
    """Parse `text`; raise `ChoreographyError` carrying every diagnostic if there is any error."""
    result = parse_source(text, filename)
    if not result.ok:
        raise ChoreographyError(result.diagnostics, {filename: text})
    return result.file


def check_file(file: SourceFile, extra_annotation_keys: Iterable[str] = ()) -> list[Diagnostic]:
    """The checks that run right after parsing: names (E010, E011, E013) and annotations (E060, W101)."""
    return check_role_names(file) + check_annotations(file, extra_annotation_keys)
