"""Diagnostics as data: what every checking stage returns."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from aura_choreo.diagnostics.span import Span


class Severity(StrEnum):
    """How bad a diagnostic is."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: a code (`E010`), a severity, where, what, and hints on how to fix it."""

    code: str
    severity: Severity
    span: Span
    message: str
    hints: tuple[str, ...] = field(default=())

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict[str, object]:
        """The SPEC §7 JSON form."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "file": self.span.file,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "message": self.message,
            "hints": list(self.hints),
        }


def error(code: str, span: Span, message: str, *hints: str) -> Diagnostic:
    """An error diagnostic."""
    return Diagnostic(code, Severity.ERROR, span, message, tuple(h for h in hints if h))


def warning(code: str, span: Span, message: str, *hints: str) -> Diagnostic:
    """A warning diagnostic."""
    return Diagnostic(code, Severity.WARNING, span, message, tuple(h for h in hints if h))


def info(code: str, span: Span, message: str, *hints: str) -> Diagnostic:
    """An informational diagnostic."""
    return Diagnostic(code, Severity.INFO, span, message, tuple(h for h in hints if h))


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A `did you mean `x`?` hint for the closest candidate, or an empty string."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in candidates}
        if name.lower() in lowered:
            matches = [lowered[name.lower()]]
    return f"did you mean `{matches[0]}`?" if matches else ""


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics sorted by file and position, duplicates removed."""
    unique = list(dict.fromkeys(diagnostics))
    return sorted(unique, key=lambda d: (d.span.file, d.span.line, d.span.column, d.code))


def has_errors(diagnostics: Sequence[Diagnostic]) -> bool:
    """Whether any diagnostic is an error."""
    return any(d.is_error for d in diagnostics)


def promote_warnings(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """`--strict`: every warning becomes an error."""
    return [
        Diagnostic(d.code, Severity.ERROR, d.span, d.message, d.hints)
        if d.severity is Severity.WARNING
        else d
        for d in diagnostics
    ]
