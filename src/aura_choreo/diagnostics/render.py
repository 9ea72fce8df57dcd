"""Rendering diagnostics as text with a source line and a caret underline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from aura_choreo.diagnostics.diagnostic import Diagnostic, Severity

_COLOURS = {Severity.ERROR: "\x1b[1;31m", Severity.WARNING: "\x1b[1;33m", Severity.INFO: "\x1b[1;36m"}
_BOLD = "\x1b[1m"
_BLUE = "\x1b[1;34m"
_RESET = "\x1b[0m"


def render_diagnostic(diagnostic: Diagnostic, source: str | None, *, colour: bool = False) -> str:
    """Render one diagnostic: `file:line:col: severity[CODE]: message`, the line, a caret, the hints."""
    return _render(diagnostic, None if source is None else source.splitlines(), colour)


def _render(d: Diagnostic, source_lines: Sequence[str] | None, colour: bool) -> str:
    sev = d.severity.value
    head_sev = f"{_COLOURS[d.severity]}{sev}[{d.code}]{_RESET}" if colour else f"{sev}[{d.code}]"
    message = f"{_BOLD}{d.message}{_RESET}" if colour else d.message
    lines = [f"{d.span}: {head_sev}: {message}"]
    source_line = _line_of(source_lines, d.span.line)
    hints = list(d.hints)
    if source_line is not None:
        number = str(d.span.line)
        gutter = " " * len(number)
        bar = f"{_BLUE}|{_RESET}" if colour else "|"
        text = source_line.expandtabs(4).rstrip("\n")
        prefix = source_line[: max(d.span.column - 1, 0)].expandtabs(4)
        start = len(prefix)
        if d.span.end_line == d.span.line:
            width = max(d.span.end_column - d.span.column, 1)
        else:
            width = max(len(text) - start, 1)
        width = max(min(width, max(len(text) - start, 1)), 1)
        caret = "^" * width
        if colour:
            caret = f"{_COLOURS[d.severity]}{caret}{_RESET}"
        first_hint = f" help: {hints.pop(0)}" if hints else ""
        lines.append(f"{gutter} {bar}")
        lines.append(f"{number} {bar} {text}")
        lines.append(f"{gutter} {bar} {' ' * start}{caret}{first_hint}")
    for hint in hints:
        lines.append(f"  = help: {hint}")
    return "\n".join(lines)


def render_all(
    diagnostics: Iterable[Diagnostic], sources: Mapping[str, str], *, colour: bool = False
) -> str:
    """Render many diagnostics, each with its file's source when known, then a count line."""
    parts: list[str] = []
    errors = warnings = 0
    split: dict[str, list[str]] = {}  # each source split once, not once per diagnostic
    for d in diagnostics:
        source = sources.get(d.span.file)
        if source is not None and d.span.file not in split:
            split[d.span.file] = source.splitlines()
        parts.append(_render(d, split.get(d.span.file), colour))
        errors += d.severity is Severity.ERROR
        warnings += d.severity is Severity.WARNING
    if errors or warnings:
        parts.append(_summary(errors, warnings))
    return "\n\n".join(parts)


def _summary(errors: int, warnings: int) -> str:
    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    bits = [plural(errors, "error")] if errors else []
    if warnings:
        bits.append(plural(warnings, "warning"))
    return ", ".join(bits) + " emitted"


def _line_of(lines: Sequence[str] | None, line: int) -> str | None:
    if lines is None or line < 1:
        return None
    if line > len(lines):
        return None
    return lines[line - 1]
