"""`aura-choreo simulate FILE`: run every role on a seeded, faulty simulated network, many times.

    aura-choreo simulate tpc.choreo --seed 1 --runs 100 --drop 0.1 --dup 0.05 --delay 5..50 \\
        --partition Participant@200..900 --crash Participant@40 --json

Each run is one session on virtual time; runs use seeds N, N+1, ...; each finished run's trace is also
checked against the global protocol. Exit 1 when any run fails. `--shrink OUT.json` turns the first
failing run into a minimal replayable fixture; `--replay FILE` runs one again.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import click

from aura_choreo.cli.out_paths import make_folders_for, policy_journal, require_output_file
from aura_choreo.cli.output import fail, print_diagnostics, print_json, require_choreography
from aura_choreo.cli.params import parse_params
from aura_choreo.cli.simulate_report import describe, load_failure_json, report_json, summary
from aura_choreo.diagnostics import did_you_mean
from aura_choreo.errors import ChoreographyError
from aura_choreo.protocol import Protocol, load_all
from aura_choreo.testing.fault_options import (
    parse_crash,
    parse_delay,
    parse_exhaustion,
    parse_partition,
    parse_probability,
)
from aura_choreo.testing.fixtures import FixtureError, SimulationFixture, read_fixture, write_fixture
from aura_choreo.testing.simulation import (
    ExtensionsFactory,
    Roles,
    RunResult,
    SimulationConfig,
    SimulationReport,
    run_simulation,
    with_trace_check,
)
from aura_choreo.transports.faults import FaultEvent
from aura_choreo.transports.network import FixedLatency, Latency, LinkModel, NetworkModel

T = TypeVar("T")


def _usage(parse: Callable[..., T], *args: str) -> T:
    """`parse(*args)`; its ValueError is a usage error (exit 2)."""
    try:
        return parse(*args)
    except ValueError as exc:
        fail(str(exc), code=2)
        raise  # unreachable: fail exits


def _network(drop: str | None, dup: str | None, delay: str | None, reorder: bool) -> NetworkModel:
    latency: Latency = _usage(parse_delay, delay) if delay else FixedLatency(1.0)
    link = LinkModel(
        latency=latency,
        drop=_usage(parse_probability, drop, "--drop") if drop else 0.0,
        duplicate=_usage(parse_probability, dup, "--dup") if dup else 0.0,
        reorder=reorder,
    )
    return NetworkModel(link)


def _load(file: str, params: dict[str, int], only: str | None, as_json: bool) -> list[Protocol]:
    if not os.path.isfile(file):
        fail(f"cannot read `{file}`: no such file", code=2)
    try:
        protocols = list(load_all(file, params=params).values())
    except ChoreographyError as exc:
        if as_json:  # the report's shape (SPEC §7), not validate's document
            print_json(load_failure_json(exc))
        print_diagnostics(exc.diagnostics, exc.sources)
        raise SystemExit(1) from None
    require_choreography(len(protocols), file)
    known = {name for p in protocols for name in p.params}
    for key in params:
        if key not in known:
            fail(
                f"unknown parameter `{key}`",
                code=2,
                hint=did_you_mean(key, known) or f"parameters: {', '.join(sorted(known)) or 'none'}",
            )
    if only is not None:
        chosen = [p for p in protocols if only in (p.name, p.qualified_name)]
        if not chosen:
            names = [p.qualified_name for p in protocols]
            fail(f"no choreography `{only}` in {file}", code=2, hint=did_you_mean(only, names))
        return chosen
    return protocols


def _check_roles(protocol: Protocol, events: tuple[FaultEvent, ...]) -> None:
    roles = set(protocol.roles)
    for event in events:
        named = getattr(event, "roles", None) or (getattr(event, "role", None), getattr(event, "peer", None))
        for role in named:
            if role is not None and role not in roles:
                hint = did_you_mean(role, sorted(roles)) or f"roles: {', '.join(protocol.roles)}"
                fail(f"unknown role `{role}` in a fault option", code=2, hint=hint)


def _policy_setup(
    policy_file: str | None, protocol: Protocol
) -> tuple[ExtensionsFactory | None, dict[str, str]]:
    if policy_file is None:
        return None, {}
    from aura_choreo.cli.policy_arg import read_policy
    from aura_choreo.execution import build_stack

    policy = read_policy(policy_file)
    stack = build_stack(protocol, policy, "simulation")  # the guard chain of each run (SPEC §5.8)
    return (lambda clock: stack.parts(clock).extensions), stack.devices


@contextmanager
def _progress(total: int, label: str, show: bool) -> Iterator[Callable[[], None]]:
    """A rich progress bar on stderr (rich imported only when a bar is shown)."""
    if not show:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


_HELP = """Run every role on a seeded, faulty simulated network, on virtual time.

Runs use seeds N, N+1, ...; every role runs its default behaviour (or --behaviours), and each
finished run's trace is checked against the global protocol. Prints a progress bar (on a terminal)
and a summary naming the failing seeds; --verbose adds a line per run. Times are milliseconds or durations
(500ms, 2s). Exit 1 when any run fails.

\b
Examples:
  aura-choreo simulate tpc.choreo --runs 100 --drop 0.1 --dup 5% --delay 5..50
  aura-choreo simulate tpc.choreo --partition Participant@0..60s --timeout 5
  aura-choreo simulate tpc.choreo --crash Participant@40 --shrink failing.json
  aura-choreo simulate tpc.choreo --replay failing.json
"""


def _finite(_ctx: click.Context, param: click.Parameter, value: float) -> float:
    """Reject nan and infinity (click's float ranges let nan through: it compares false to both ends)."""
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number", param=param)
    return value


def _given(name: str) -> bool:
    """Whether option `name` was given on the command line (not its default)."""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source is not click.core.ParameterSource.DEFAULT


MAX_RUNS = 100_000
"""Runs one command may ask for: the report keeps each run's result and trace in memory."""


@click.command(name="simulate", help=_HELP)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the first run.")
@click.option(
    "--runs",
    type=click.IntRange(min=1, max=MAX_RUNS),
    default=1,
    show_default=True,
    help=f"Number of runs (at most {MAX_RUNS:,}: every run's result is kept for the report; "
    "split a longer sweep with --seed).",
)
@click.option("--drop", default=None, metavar="P", help="Probability that a frame is lost (0.1 or 10%).")
@click.option("--dup", default=None, metavar="P", help="Probability that a frame is delivered twice.")
@click.option("--delay", default=None, metavar="A..B", help="Link latency in ms: uniform A..B, or fixed.")
@click.option("--reorder", is_flag=True, help="Let frames overtake each other on a link.")
@click.option(
    "--partition",
    "partitions",
    multiple=True,
    metavar="R1,R2@T1..T2",
    help="Isolate these roles during T1..T2 (repeatable).",
)
@click.option(
    "--crash",
    "crashes",
    multiple=True,
    metavar="R@T[..T2][:wipe]",
    help="Crash R at T; restart at T2 (:wipe: it loses its memory and resumes from its journal).",
)
@click.option(
    "--exhaust", "exhaustions", multiple=True, metavar="R[:PEER]@T", help="Spend R's flow budget at T."
)
@click.option("--param", "param_values", multiple=True, metavar="K=V", help="Bind a family size/parameter.")
@click.option("--protocol", "protocol_name", default=None, help="Only this choreography of the file.")
@click.option("--behaviours", default=None, metavar="MOD:OBJ", help="User behaviours (module or .py file).")
@click.option("--policy", "policy_file", default=None, metavar="FILE", help="Run the guard chain (policy).")
@click.option(
    "--timeout",
    "peer_timeout",
    type=click.FloatRange(min=0),
    callback=_finite,
    default=30.0,
    show_default=True,
    help="Receive timeout in virtual s (0: none).",
)
@click.option(
    "--horizon",
    type=click.FloatRange(min=0, min_open=True),
    callback=_finite,
    default=3600.0,
    show_default=True,
    help="Virtual s after which a run is stuck.",
)
@click.option("--replay", "replay_file", default=None, metavar="FILE", help="Replay a fixture from --shrink.")
@click.option("--shrink", "shrink_file", default=None, metavar="OUT", help="Shrink the first failure to OUT.")
@click.option("--trace-out", default=None, metavar="FILE", help="Write the first run's trace (JSONL).")
@click.option("--no-check", is_flag=True, help="Do not check each run's trace against the protocol.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (SPEC §7).")
@click.option("--quiet", is_flag=True, help="Only the summary; no progress bar.")
@click.option("--verbose", "-v", is_flag=True, help="A line per run (default: a progress bar and a summary).")
def command(
    file: str,
    seed: int,
    runs: int,
    drop: str | None,
    dup: str | None,
    delay: str | None,
    reorder: bool,
    partitions: tuple[str, ...],
    crashes: tuple[str, ...],
    exhaustions: tuple[str, ...],
    param_values: tuple[str, ...],
    protocol_name: str | None,
    behaviours: str | None,
    policy_file: str | None,
    peer_timeout: float,
    horizon: float,
    replay_file: str | None,
    shrink_file: str | None,
    trace_out: str | None,
    no_check: bool,
    as_json: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    for output in (trace_out, shrink_file):  # fail before the runs, not after them
        if output is not None:
            require_output_file(output)
            make_folders_for(output)  # as `doc`, `compile` and `test-gen` do
    params = parse_params(param_values)
    fixture: SimulationFixture | None = None
    if replay_file is not None:
        try:
            fixture = read_fixture(Path(replay_file))
        except FixtureError as exc:
            fail(str(exc), code=2)
        assert fixture is not None
        params = {**fixture.params, **params}
        protocol_name = protocol_name or fixture.protocol
        # The run's settings come from the fixture unless given again on the command line.
        if not _given("peer_timeout"):
            peer_timeout = fixture.peer_timeout or 0.0
        if not _given("horizon"):
            horizon = fixture.horizon
        policy_file = policy_file or fixture.policy
        behaviours = behaviours or fixture.behaviours
    schedule: tuple[FaultEvent, ...] = tuple(_usage(parse_partition, p) for p in partitions)
    schedule += tuple(_usage(parse_crash, c) for c in crashes)
    schedule += tuple(_usage(parse_exhaustion, e) for e in exhaustions)
    config = SimulationConfig(
        network=_network(drop, dup, delay, reorder),
        schedule=schedule,
        peer_timeout=peer_timeout if peer_timeout > 0 else None,
        horizon=horizon,
    )
    if fixture is not None:
        config = replace(config, network=fixture.network, schedule=fixture.schedule)
    roles: Roles | None = None
    if behaviours is not None:
        from aura_choreo.testing.behaviour_loading import BehaviourLoadError, load_roles

        try:
            roles = load_roles(behaviours)
        except BehaviourLoadError as exc:
            fail(str(exc), code=2)
    protocols = _load(file, params, protocol_name, as_json)
    seeds = range(fixture.seed, fixture.seed + 1) if fixture is not None else range(seed, seed + runs)
    show_progress = not (quiet or as_json) and sys.stderr.isatty() and len(seeds) > 1
    reports: list[tuple[Protocol, SimulationReport]] = []
    for protocol in protocols:
        _check_roles(protocol, config.schedule)
        extensions, devices = _policy_setup(policy_file, protocol)
        results: list[RunResult] = []
        with _progress(len(seeds), protocol.qualified_name, show_progress) as advance:
            for run_seed in seeds:
                with policy_journal(policy_file):
                    result = run_simulation(
                        protocol, run_seed, config, roles=roles, extensions=extensions, devices=devices
                    )
                result = result if no_check else with_trace_check(protocol, result)
                results.append(result)
                if verbose and not (quiet or as_json):
                    click.echo(describe(result))
                advance()
        report = SimulationReport(tuple(results))
        reports.append((protocol, report))
        if shrink_file is not None and report.failures:
            settings = {"policy": policy_file, "behaviours": behaviours}
            _shrink(
                protocol,
                report.failures[0],
                config,
                roles,
                extensions,
                devices,
                params,
                settings,
                shrink_file,
                as_json,
            )
    if trace_out is not None and reports and reports[0][1].runs:
        reports[0][1].runs[0].trace.write_jsonl(trace_out)
    if as_json:
        print_json(report_json(reports))
    else:
        for protocol, report in reports:
            for line in summary(protocol, report, seeds):
                click.echo(line)
    if not all(report.ok for _, report in reports):
        raise SystemExit(1)


def _with_settings(
    fixture: SimulationFixture, config: SimulationConfig, settings: dict[str, str | None]
) -> SimulationFixture:
    """The fixture with the run's settings, so `--replay` runs it as it ran."""
    return replace(
        fixture,
        peer_timeout=config.peer_timeout,
        horizon=config.horizon,
        policy=_absolute(settings["policy"]),
        behaviours=settings["behaviours"],
    )


def _absolute(path: str | None) -> str | None:
    return None if path is None else os.path.abspath(path)


def _shrink(
    protocol: Protocol,
    failing: RunResult,
    config: SimulationConfig,
    roles: Roles | None,
    extensions: ExtensionsFactory | None,
    devices: dict[str, str],
    params: dict[str, int],
    settings: dict[str, str | None],
    out: str,
    as_json: bool,
) -> None:
    from aura_choreo.testing.minimise import minimise_run

    try:
        minimal = minimise_run(
            protocol, failing.seed, config, roles=roles, extensions=extensions, devices=devices
        )
    except ValueError:
        # the failure came from the trace check, which shrinking does not re-run: keep the whole run
        fixture = SimulationFixture(
            failing.seed, config.network, config.schedule, protocol.qualified_name, params
        )
        write_fixture(Path(out), _with_settings(fixture, config, settings))
        return
    fixture = minimal.fixture(protocol=protocol.qualified_name, params=params)
    write_fixture(Path(out), _with_settings(fixture, config, settings))
    if not as_json:
        click.echo(
            f"shrunk seed {failing.seed}: {minimal.original_events} -> {len(minimal.config.schedule)} "
            f"fault events ({minimal.tests_run} runs); replay with --replay {out}",
            err=True,
        )
