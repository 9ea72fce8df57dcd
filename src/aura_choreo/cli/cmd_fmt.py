"""`aura-choreo fmt FILE... [--check] [--write] [--json]`: print choreographies in canonical form.

A file with a syntax error is never formatted: the parser's recovery drops what it cannot read, and
formatting would silently delete it. Comments are kept (placed before the statement they preceded, or
after the statement whose lines they sat on).
"""

from __future__ import annotations

from pathlib import Path

import click

from aura_choreo.cli.output import print_diagnostics, print_json, require_files
from aura_choreo.syntax import format_source, parse_source, read_source


@click.command(name="fmt", help="Print a choreography in canonical form (--check to verify).")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 and name each file that would change.")
@click.option("--write", "-w", is_flag=True, help="Rewrite the files in place instead of printing them.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(files: tuple[str, ...], check: bool, write: bool, as_json: bool) -> None:
    require_files(*files)
    reports: list[dict[str, object]] = []
    failed = changed_any = False
    for path in files:
        text, unreadable = read_source(path)
        result = parse_source(text, path) if text is not None and unreadable is None else None
        if result is None or text is None:
            syntax_errors = [unreadable] if unreadable is not None else []
        else:
            syntax_errors = [d for d in result.diagnostics if d.is_error and d.code == "E001"]
        if syntax_errors or result is None or text is None:
            failed = True
            reports.append(
                {
                    "file": path,
                    "ok": False,
                    "changed": False,
                    "diagnostics": [d.to_json() for d in syntax_errors],
                }
            )
            if not as_json:
                print_diagnostics(syntax_errors, {path: text} if text is not None else {})
            continue
        formatted = format_source(result.file, result.comments)
        changed = formatted != text
        changed_any |= changed
        reports.append({"file": path, "ok": True, "changed": changed, "formatted": formatted})
        if as_json:
            continue
        if check:
            if changed:
                click.echo(f"would reformat {path}", err=True)
        elif write:
            if changed:
                Path(path).write_text(formatted, encoding="utf-8")
                click.echo(f"reformatted {path}", err=True)
        else:
            click.echo(formatted, nl=False)
    if as_json:
        if write:
            for report in reports:
                if report["changed"]:
                    Path(str(report["file"])).write_text(str(report["formatted"]), encoding="utf-8")
        print_json({"ok": not failed and not (check and changed_any), "files": reports})
    raise SystemExit(1 if failed or (check and changed_any) else 0)
