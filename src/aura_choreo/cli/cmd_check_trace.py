"""`aura-choreo check-trace FILE TRACE.jsonl`: check a recorded trace against the global protocol.

The trace is the JSONL written by `Trace.write_jsonl` (or `simulate --trace-out`). Each session in it is
checked against the choreography its events name (or `--protocol`). Exit 1 when the trace departs from
the protocol, 2 when the trace file itself is unreadable.
"""

from __future__ import annotations

import click

from aura_choreo.cli.output import fail, print_diagnostics, print_json, require_files
from aura_choreo.cli.params import parse_params
from aura_choreo.diagnostics import did_you_mean
from aura_choreo.errors import ChoreographyError
from aura_choreo.protocol import Protocol, load_all
from aura_choreo.runtime.trace import Trace, TraceEvent
from aura_choreo.testing.trace_check import TraceReport, check_trace
from aura_choreo.testing.trace_files import TraceFileError, read_trace


def _read_trace(path: str) -> list[TraceEvent]:
    try:
        return read_trace(path)
    except TraceFileError as exc:
        fail(str(exc), code=2)
        raise


def _choose(protocols: dict[str, Protocol], events: list[TraceEvent], name: str | None) -> Protocol:
    wanted = name or next((e.protocol for e in events if e.protocol), None)
    if wanted is None:
        if len(protocols) == 1:
            return next(iter(protocols.values()))
        fail("the trace does not name its protocol and the file has several", code=2, hint="use --protocol")
    for protocol in protocols.values():
        if wanted in (protocol.name, protocol.qualified_name):
            return protocol
    fail(f"no choreography `{wanted}` in this file", code=2, hint=did_you_mean(str(wanted), list(protocols)))
    raise AssertionError("unreachable")


@click.command(name="check-trace", help="Check a recorded trace against the global protocol.")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("trace_file", metavar="TRACE.jsonl", type=click.Path(dir_okay=False))
@click.option("--protocol", "protocol_name", default=None, help="The choreography (default: the trace's).")
@click.option("--param", "param_values", multiple=True, metavar="K=V", help="Bind a family size/parameter.")
@click.option("--partial", is_flag=True, help="Accept a trace of an unfinished or failed run.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
def command(
    file: str,
    trace_file: str,
    protocol_name: str | None,
    param_values: tuple[str, ...],
    partial: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    require_files(file)
    params = parse_params(param_values)
    events = _read_trace(trace_file)
    try:
        protocols = load_all(file, params=params)
    except ChoreographyError as exc:
        print_diagnostics(exc.diagnostics, exc.sources)
        raise SystemExit(1) from None
    protocol = _choose(protocols, events, protocol_name)
    report = check_trace(protocol, Trace(events), complete=not partial)
    _print(protocol, report, as_json, quiet)
    if not report.ok:
        raise SystemExit(1)


def _print(protocol: Protocol, report: TraceReport, as_json: bool, quiet: bool) -> None:
    if as_json:
        print_json({"protocol": protocol.qualified_name, **report.to_json()})
        return
    sessions = f"{len(report.sessions)} session{'s' if len(report.sessions) != 1 else ''}"
    if report.ok:
        if not quiet:
            click.echo(f"trace ok: {report.events} events, {sessions} of {protocol.qualified_name}")
        return
    click.echo(
        f"trace does not follow {protocol.qualified_name} ({report.events} events, {sessions}):", err=True
    )
    for issue in report.issues:
        click.echo(f"  {issue}", err=True)
