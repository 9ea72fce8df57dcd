"""Diagnostics: spans, findings, and their text and JSON renderings."""

from aura_choreo.diagnostics.diagnostic import (
    Diagnostic,
    Severity,
    did_you_mean,
    error,
    has_errors,
    info,
    promote_warnings,
    sort_diagnostics,
    warning,
)
from aura_choreo.diagnostics.render import render_all, render_diagnostic
from aura_choreo.diagnostics.span import UNKNOWN_SPAN, Span

__all__ = [
    "UNKNOWN_SPAN",
    "Diagnostic",
    "Severity",
    "Span",
    "did_you_mean",
    "error",
    "has_errors",
    "info",
    "promote_warnings",
    "render_all",
    "render_diagnostic",
    "sort_diagnostics",
    "warning",
]
