"""Printing for the CLI: JSON, diagnostics, colour only on a terminal."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

import click

from aura_choreo.cli.failure_json import KNOWN, failure_json
from aura_choreo.diagnostics import Diagnostic, render_all, sort_diagnostics
from aura_choreo.protocol import no_choreography


def use_colour() -> bool:
    """Colour only on a TTY, and never when NO_COLOR is set."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


_JSON_PRINTED = "aura_choreo.json_printed"


def print_json(value: object) -> None:
    """Print a JSON document on stdout."""
    click.echo(json.dumps(value, indent=2, sort_keys=False))
    context = click.get_current_context(silent=True)
    if context is not None:
        context.meta[_JSON_PRINTED] = True


def json_requested() -> bool:
    """Whether the running command was asked for JSON (`--json` or `--format json`)."""
    context = click.get_current_context(silent=True)
    if context is None:
        return False
    return bool(context.params.get("as_json")) or context.params.get("fmt") == "json"


def print_diagnostics(diagnostics: Sequence[Diagnostic], sources: Mapping[str, str]) -> None:
    """Print diagnostics as text on stderr.

    Under `--json`, errors also go to stdout as `{"ok": false, "diagnostics": [...]}` unless the
    command already printed its JSON answer: a failed load still answers in JSON.
    """
    context = click.get_current_context(silent=True)
    if (
        json_requested()
        and context is not None
        and not context.meta.get(_JSON_PRINTED)
        and any(d.is_error for d in diagnostics)
    ):
        print_json({"ok": False, "diagnostics": [d.to_json() for d in sort_diagnostics(diagnostics)]})
    if diagnostics:
        colour = sys.stderr.isatty() and "NO_COLOR" not in os.environ
        click.echo(render_all(diagnostics, sources, colour=colour), err=True)


def fail_with_diagnostics(
    diagnostics: Sequence[Diagnostic], sources: Mapping[str, str], *, as_json: bool
) -> NoReturn:
    """Print a load's error diagnostics (and, under `--json`, them as JSON on stdout) and exit 1."""
    if as_json:
        print_json({"ok": False, "diagnostics": [d.to_json() for d in diagnostics]})
    print_diagnostics(diagnostics, sources)
    raise SystemExit(1)


def require_choreography(count: int, file: str) -> None:
    """Exit 1 when `file` declares no choreography (`count` 0) and the command works on one: the
    load's own words and code (E091, as `run`, `subtype` and `validate` say it), never a silent
    success."""
    if count == 0:
        found = no_choreography(file)
        fail(found.message, code=1, hint=found.hints[0], kind=f"error[{found.code}]")


def remember(**known: object) -> None:
    """Record what the running command learnt (`run`: its protocol, hash and device), for the
    `--json` document of a usage error found later (`failure_json`)."""
    context = click.get_current_context(silent=True)
    if context is not None:
        context.meta.setdefault(KNOWN, {}).update(known)


def require_files(*paths: str) -> None:
    """Exit 2 naming the first of `paths` that is not a readable regular file (before any loading)."""
    for path in paths:
        if not os.path.isfile(path):
            fail(f"cannot read `{path}`: no such file", code=2)


def distinct_files(paths: Sequence[str]) -> list[str]:
    """Each file once however it is spelled (`a.choreo`, `./a.choreo`, `/abs/a.choreo`), in its first
    spelling: what every command taking `FILE...` reads (`validate`, `doc`)."""
    seen: set[str] = set()
    distinct: list[str] = []
    for path in paths:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            distinct.append(path)
    return distinct


def fail(message: str, *, code: int = 1, hint: str | None = None, kind: str = "error") -> None:
    """Print `error: message` (`kind` instead of `error`, e.g. `error[E091]`; and a hint) on stderr
    and exit with `code`.

    Under `--json`, stdout also gets the command's own document of a failure (`failure_json`: its
    contract's fields, `ok` false, `error` and `hints`) unless the command already printed its JSON
    answer, so stdout is always one JSON document.
    """
    context = click.get_current_context(silent=True)
    if json_requested() and context is not None and not context.meta.get(_JSON_PRINTED):
        name = context.command.name
        known = context.meta.get(KNOWN, {})
        print_json(failure_json(name, message, [hint] if hint else [], context.params, known))
    click.echo(f"{kind}: {message}", err=True)
    if hint:
        click.echo(f"  = help: {hint}", err=True)
    raise SystemExit(code)
