"""`aura-choreo profile FILE [--param K=V] [--sizes K=a,b,c] [--no-guard] [--json]` (SPEC §7)."""

from __future__ import annotations

import click

from aura_choreo.cli.output import (
    fail,
    fail_with_diagnostics,
    print_diagnostics,
    print_json,
    require_choreography,
    require_files,
)
from aura_choreo.cli.params import parse_params
from aura_choreo.docs import load_files
from aura_choreo.profile import ProtocolProfile, profile_protocol


def _parse_sizes(values: tuple[str, ...]) -> dict[str, list[int]]:
    sizes: dict[str, list[int]] = {}
    for item in values:
        key, sep, rest = item.partition("=")
        try:
            numbers = [int(x) for x in rest.split(",") if x.strip()]
        except ValueError:
            numbers = []
        if not sep or not key.strip() or len(numbers) < 1 or any(n < 1 for n in numbers):
            fail(f"bad --sizes `{item}`", code=2, hint="write --sizes N=2,4,8,16 (positive integers)")
        sizes[key.strip()] = sorted(set(numbers))
    return sizes


def _print_table(profile: ProtocolProfile) -> None:
    from rich.console import Console
    from rich.table import Table

    data = profile.to_json()
    console = Console()
    params = ", ".join(f"{k}={v}" for k, v in profile.params.items())
    console.print(
        f"[bold]{profile.name}[/bold]"
        + (f" ({params})" if params else "")
        + f": {data['messages']} messages, {data['rounds']} rounds, {data['bytes']} payload bytes"
        + " on the worst-case path"
    )
    for reason in profile.tally.unbounded:
        console.print(f"  note: {reason}")
    roles = Table("role", "sent", "recv", "B sent", "B recv", "flow", "leak e/n/g")
    per_role = data["per_role"]
    assert isinstance(per_role, dict)
    for role, row in per_role.items():
        budget = profile.budgets.get(role)
        flow = budget.total.flow.text() if budget else "0"
        leak = " / ".join(c.text() for c in budget.total.leakage) if budget else "0 / 0 / 0"
        roles.add_row(
            role,
            str(row["sent"]),
            str(row["received"]),
            str(row["bytes"]),
            str(row["bytes_received"]),
            flow,
            leak,
        )
    console.print(roles)
    pairs = Table("from", "to", "messages", "bytes")
    for (a, b), n in sorted(profile.tally.pairs.items()):
        pairs.add_row(a, b, str(n), str(profile.tally.pair_bytes[(a, b)]))
    console.print(pairs)
    if profile.scaling:
        growth = Table("params", "messages", "rounds", "bytes", title="growth")
        for point in profile.scaling:
            growth.add_row(
                ", ".join(f"{k}={v}" for k, v in point.params.items()),
                str(point.messages),
                str(point.rounds),
                str(point.bytes),
            )
        growth.add_row(
            "[bold]fit[/bold]",
            profile.complexity["messages"],
            profile.complexity["rounds"],
            profile.complexity["bytes"],
        )
        console.print(growth)
        for key, fit in profile.per_parameter.items():
            console.print(
                f"  {key} alone: messages {fit['messages']}, rounds {fit['rounds']}, bytes {fit['bytes']}"
            )
    if profile.guard is not None:
        g = profile.guard
        stages = ", ".join(f"{k} {v * 1e6:.1f}" for k, v in g.stage_seconds_per_send.items())
        state = "" if g.ok else f" (the run failed: {g.error})"
        console.print(
            f"guard chain: {g.seconds_per_send * 1e6:.1f} µs per send over {g.sends} sends"
            f" ({stages} µs){state}"
        )


@click.command(name="profile", help="Measure a protocol's cost per role and message.")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--param", "param_values", multiple=True, metavar="K=V", help="Bind a family size or parameter."
)
@click.option("--sizes", "size_values", multiple=True, metavar="K=a,b,c", help="Sizes to measure growth at.")
@click.option("--protocol", "protocol_name", default=None, help="Only this choreography of the file.")
@click.option("--no-guard", is_flag=True, help="Skip the simulated run that times the guard chain.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (SPEC §7).")
@click.option("--quiet", is_flag=True, help="Do not print warnings and notes.")
def command(
    file: str,
    param_values: tuple[str, ...],
    size_values: tuple[str, ...],
    protocol_name: str | None,
    no_guard: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    require_files(file)
    params = parse_params(param_values)
    sizes = _parse_sizes(size_values)
    loaded = load_files([file], params)
    if not loaded.ok:
        fail_with_diagnostics(loaded.diagnostics, loaded.sources, as_json=as_json)
    require_choreography(len(loaded.protocols), file)
    protocols = [p for p in loaded.protocols if protocol_name in (None, p.name, p.qualified_name)]
    if not protocols:
        fail(f"no choreography `{protocol_name}` in `{file}`", code=2)
    known = {k for p in protocols for k in p.params}
    for key in [*params, *sizes]:
        if key not in known:
            fail(
                f"unknown parameter `{key}`", code=2, hint=f"parameters: {', '.join(sorted(known)) or 'none'}"
            )
    if not quiet and not as_json:
        print_diagnostics([d for d in loaded.diagnostics if not d.is_error], loaded.sources)
    profiles = [profile_protocol(p, sizes=sizes, guard=not no_guard) for p in protocols]
    if as_json:
        print_json({"ok": True, "protocols": [p.to_json() for p in profiles]})
        return
    for profile in profiles:
        _print_table(profile)
