"""`aura-choreo doc FILE... -o OUT [--trace TRACE.jsonl] [--param K=V]`: write the HTML report.

`OUT` ending in `.html` is the report itself; anything else is a directory that receives `index.html`.
Exit 1 when a file does not check (diagnostics printed, nothing written), 2 on usage errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from aura_choreo.cli.out_paths import require_output_dir, require_output_file
from aura_choreo.cli.output import (
    distinct_files,
    fail,
    fail_with_diagnostics,
    print_diagnostics,
    print_json,
    require_files,
)
from aura_choreo.cli.params import parse_params
from aura_choreo.docs import ReportInput, TraceFileError, build_report, load_files, read_trace
from aura_choreo.protocol import Protocol
from aura_choreo.runtime.trace import TraceEvent


@click.command(name="doc", help="Write HTML documentation with sequence diagrams.")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", "output", required=True, help="OUT.html, or a directory for index.html.")
@click.option(
    "--trace", "trace_file", default=None, metavar="TRACE.jsonl", help="Draw this run beside the spec."
)
@click.option(
    "--param", "param_values", multiple=True, metavar="K=V", help="Bind a family size or parameter."
)
@click.option("--title", default="aura-choreo protocol documentation", help="The page title.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result.")
@click.option("--quiet", is_flag=True, help="Do not print warnings and notes.")
def command(
    files: tuple[str, ...],
    output: str,
    trace_file: str | None,
    param_values: tuple[str, ...],
    title: str,
    as_json: bool,
    quiet: bool,
) -> None:
    require_files(*files)
    if output.endswith(".html"):
        require_output_file(output)
    else:
        require_output_dir(output)
    params = parse_params(param_values)
    trace = None
    if trace_file is not None:
        try:
            trace = read_trace(trace_file)
        except TraceFileError as exc:
            fail(str(exc), code=2)
    loaded = load_files(distinct_files(files), params)
    if not loaded.ok:
        fail_with_diagnostics(loaded.diagnostics, loaded.sources, as_json=as_json)
    if not loaded.protocols:
        fail(
            "no choreography to document",
            hint="a choreography reads `choreography Name { roles: A, B; ... }`",
        )
    if trace is not None and trace_file is not None:
        _require_trace_of(loaded.protocols, trace, trace_file)
    target = Path(output) if output.endswith(".html") else Path(output) / "index.html"
    html = build_report(ReportInput(loaded.protocols, loaded.sources, (), trace, title))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write `{target}`: {exc.strerror}", code=2)
    if not quiet and not as_json:
        print_diagnostics([d for d in loaded.diagnostics if not d.is_error], loaded.sources)
    if as_json:
        names = [p.qualified_name for p in loaded.protocols]
        print_json({"ok": True, "output": str(target), "protocols": names})
    elif not quiet:
        click.echo(f"wrote {target} ({len(loaded.protocols)} protocol(s))")


def _require_trace_of(protocols: Sequence[Protocol], trace: Sequence[TraceEvent], trace_file: str) -> None:
    """A trace naming a protocol none of the files defines is a usage error (exit 2), as `check-trace`
    refuses it: drawn beside the wrong specification it would say nothing, with exit 0."""
    documented = {name for p in protocols for name in (p.name, p.qualified_name)}
    foreign = sorted({e.protocol for e in trace if e.protocol and e.protocol not in documented})
    if foreign:
        theirs = ", ".join(f"`{name}`" for name in foreign)
        ours = ", ".join(f"`{p.qualified_name}`" for p in protocols)
        fail(
            f"`{trace_file}` is a trace of {theirs}, which the documented file(s) do not define "
            f"(they define {ours})",
            code=2,
            hint="document the file that defines the traced protocol, or pass a trace of one of these",
        )
