"""Annotation checks right after parsing: E060 value type errors and duplicate keys, W101 unknown keys."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from aura_choreo.diagnostics import Diagnostic, did_you_mean, error, warning
from aura_choreo.syntax.ast import (
    Annotation,
    AnnotationArgs,
    Annotations,
    AnnotationValue,
    Block,
    Broadcast,
    Chain,
    Exchange,
    Ident,
    Participant,
    Send,
    SourceFile,
    Stmt,
)
from aura_choreo.syntax.guard_annotations import GUARD_KEYS, is_valid_guard_value
from aura_choreo.syntax.walk import child_blocks

METADATA_KEYS = frozenset({"priority", "critical", "audit_log", "compress", "buffered", "cost", "optimize"})
"""Keys kept as metadata only (SPEC §1.5): any value is fine."""


def _is_int(value: AnnotationValue) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _non_negative_int(value: AnnotationValue) -> bool:
    return _is_int(value) and value >= 0  # type: ignore[operator]


def _count_or_parameter(value: AnnotationValue) -> bool:
    """A quorum size: an integer, or a protocol parameter (`threshold`, SPEC §1.5)."""
    return _non_negative_int(value) or isinstance(value, Ident)


def _string(value: AnnotationValue) -> bool:
    return isinstance(value, str)


def _bool(value: AnnotationValue) -> bool:
    return isinstance(value, bool)


def _guard_value(key: str) -> Callable[[AnnotationValue], bool]:
    return lambda value: is_valid_guard_value(key, value)


_TYPED_KEYS: dict[str, tuple[Callable[[AnnotationValue], bool], str]] = {
    # The guard keys' rules are shared with the verifier and the guard chain (syntax.guard_annotations).
    **{key: (_guard_value(key), expected) for key, (_, expected) in GUARD_KEYS.items()},
    "timeout": (_non_negative_int, "a duration in milliseconds or with a unit (`5000`, `30s`)"),
    "retry": (_non_negative_int, "a non-negative integer"),
    "min_responses": (_count_or_parameter, "a non-negative integer or a protocol parameter"),
    "namespace": (_string, 'a string, e.g. "payments"'),
    "strict_choice": (_bool, "a flag (`#[strict_choice]`) or `true`/`false`"),
}

KNOWN_ANNOTATION_KEYS = frozenset(_TYPED_KEYS) | METADATA_KEYS
"""Every key with a meaning in SPEC §1.5, plus `namespace` and `strict_choice`."""


def check_annotations(file: SourceFile, extra_keys: Iterable[str] = ()) -> list[Diagnostic]:
    """E060 and W101 for every annotation in `file`; `extra_keys` (from extensions) are accepted silently."""
    accepted = KNOWN_ANNOTATION_KEYS | frozenset(extra_keys)
    diagnostics: list[Diagnostic] = []
    for choreography in file.choreographies:
        if choreography.annotations:
            diagnostics.extend(_check_group(choreography.annotations, accepted))
        _check_block(choreography.body, accepted, diagnostics)
    return diagnostics


def _check_block(block: Block, accepted: frozenset[str], out: list[Diagnostic]) -> None:
    """Each node's annotations, statement by statement, depth first (duplicate keys are an error within
    one node only). A direct recursion, not `walk.iter_statements`: its generators cost more than the
    checks, which find nothing to check on most statements (issue 19)."""
    for stmt in block:
        if stmt.annotations:
            out.extend(_check_group(stmt.annotations, accepted))
        if type(stmt) is Send:  # most statements: no nested blocks
            if stmt.sender.annotations:
                out.extend(_check_group(stmt.sender.annotations, accepted))
            if stmt.receiver.annotations:
                out.extend(_check_group(stmt.receiver.annotations, accepted))
            continue
        for participant in _participants(stmt):
            if participant.annotations:
                out.extend(_check_group(participant.annotations, accepted))
        for inner in child_blocks(stmt):
            _check_block(inner, accepted, out)


def _participants(stmt: Stmt) -> tuple[Participant, ...]:
    if not isinstance(stmt, (Send, Chain, Exchange, Broadcast)):  # one check for most statements
        return ()
    if isinstance(stmt, Send):
        return (stmt.sender, stmt.receiver)
    if isinstance(stmt, Chain):
        return stmt.participants
    if isinstance(stmt, Exchange):
        return (stmt.left, stmt.right)
    if isinstance(stmt, Broadcast):
        return (stmt.sender,)
    return ()


def _check_group(group: Annotations, accepted: frozenset[str]) -> Iterator[Diagnostic]:
    seen: dict[str, Annotation] = {}
    for annotation in group:
        key = annotation.key
        first = seen.setdefault(key, annotation)
        if first is not annotation:
            yield error(
                "E060",
                annotation.span,
                f"duplicate annotation key `{key}`",
                f"`{key}` is first given at line {first.span.line}, column {first.span.column}",
            )
            continue
        if key in _TYPED_KEYS:
            valid, expected = _TYPED_KEYS[key]
            if not valid(annotation.value):
                yield error(
                    "E060",
                    annotation.span,
                    f"`{key}` must be {expected}, found {describe_value(annotation.value)}",
                )
        elif key not in accepted:
            hint = did_you_mean(key, sorted(accepted))
            yield warning(
                "W101",
                annotation.span,
                f"unknown annotation key `{key}` (kept as metadata)",
                hint or "known keys: " + ", ".join(sorted(KNOWN_ANNOTATION_KEYS)),
            )


def describe_value(value: AnnotationValue) -> str:
    """An annotation value as an error message shows it: `string "x"`, `integer 5`, `list [1, 2]`."""
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, str):
        return f'string "{value}"'
    if isinstance(value, Ident):
        return f"identifier `{value.name}`"
    if isinstance(value, AnnotationArgs):
        return "an argument list"
    return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
