"""Annotation syntax: `k = v` entries inside `[...]` or `#[...]`, and `@key`, `@key = v`, `@key(args)`.

Values are strings, ints (a duration becomes its milliseconds), booleans, identifiers and lists.
"""

from __future__ import annotations

from aura_choreo.syntax.ast import Annotation, AnnotationArgs, Annotations, AnnotationValue, Ident
from aura_choreo.syntax.cursor import Cursor
from aura_choreo.syntax.node_build import annotation
from aura_choreo.syntax.tokens import DURATION, IDENT, INT, KIND, NEWLINE_BEFORE, STRING, TEXT, VALUE

_VALUE = "an annotation value (a string, integer, boolean, identifier or list)"


def parse_annotation_entry(c: Cursor) -> Annotation:
    """`@key`, `key = value`, `@key = value` or `@key(args)`; a key alone is the flag `True`."""
    start = c.token
    c.accept("@")
    key = c.expect_ident("an annotation key")[TEXT]
    value: AnnotationValue = True
    if c.accept("="):
        value = parse_annotation_value(c)
    elif c.at("(") and not c.token[NEWLINE_BEFORE]:
        value = _parse_args(c)
    return annotation(key, value, c.span_from(start))


def parse_annotation_list(c: Cursor) -> tuple[Annotation, ...]:
    """The entries of `[...]` after the `[`, up to and including the `]`."""
    entries: list[Annotation] = []
    while not c.at("]"):
        entries.append(parse_annotation_entry(c))
        if not c.accept(","):
            break
    c.expect("]", "`,` or `]`")
    return tuple(entries)


def parse_annotation_value(c: Cursor) -> AnnotationValue:
    """A string, an integer (a duration becomes milliseconds), a boolean, an identifier or a list."""
    token = c.token
    if token[KIND] in (STRING, INT, DURATION):
        c.advance()
        return token[VALUE]
    if token[KIND] == "-" and c.peek()[KIND] in (INT, DURATION):
        c.advance()
        value = c.advance()[VALUE]
        assert isinstance(value, int)
        return -value
    if token[KIND] == IDENT:
        c.advance()
        if token[TEXT] in ("true", "false"):
            return token[TEXT] == "true"
        name = token[TEXT]
        while c.at("::") and c.peek()[KIND] == IDENT:
            c.advance()
            name += "::" + c.advance()[TEXT]
        return Ident(name)
    if token[KIND] == "[":
        c.advance()
        c.descend()
        items: list[AnnotationValue] = []
        while not c.at("]"):
            items.append(parse_annotation_value(c))
            if not c.accept(","):
                break
        c.expect("]", "`,` or `]`")
        c.ascend()
        return tuple(items)
    c.fail(_VALUE)


def _parse_args(c: Cursor) -> AnnotationArgs:
    c.expect("(")
    positional: list[AnnotationValue] = []
    named: list[tuple[str, AnnotationValue]] = []
    while not c.at(")"):
        if c.token[KIND] == IDENT and c.peek()[KIND] == "=":
            key = c.advance()[TEXT]
            c.advance()
            named.append((key, parse_annotation_value(c)))
        else:
            positional.append(parse_annotation_value(c))
        if not c.accept(","):
            break
    c.expect(")", "`,` or `)`")
    return AnnotationArgs(tuple(positional), tuple(named))


def parse_leading_annotations(c: Cursor) -> Annotations:
    """The `[...]` lists and `@key` entries written before a statement, in order."""
    annotations: list[Annotation] = []
    while True:
        if c.at("["):
            c.advance()
            annotations.extend(parse_annotation_list(c))
        elif c.at("@"):
            annotations.append(parse_annotation_entry(c))
        else:
            return tuple(annotations)
