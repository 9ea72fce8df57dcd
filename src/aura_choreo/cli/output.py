"""Printing for the CLI: JSON, diagnostics, colour only on a terminal."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence

import click

from aura_choreo.diagnostics import Diagnostic, render_all


def use_colour() -> bool:
    """Colour only on a TTY, and never when NO_COLOR is set."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def print_json(value: object) -> None:
    """Print a JSON document on stdout."""
    click.echo(json.dumps(value, indent=2, sort_keys=False))


def print_diagnostics(diagnostics: Sequence[Diagnostic], sources: Mapping[str, str]) -> None:
    """Print diagnostics as text on stderr."""
    if diagnostics:
        colour = sys.stderr.isatty() and "NO_COLOR" not in os.environ
        click.echo(render_all(diagnostics, sources, colour=colour), err=True)


def fail(message: str, *, code: int = 1, hint: str | None = None) -> None:
    """Print `error: message` (and a hint) on stderr and exit with `code`."""
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"  = help: {hint}", err=True)
    raise SystemExit(code)
