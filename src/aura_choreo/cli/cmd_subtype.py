"""`aura-choreo subtype IMPL.dot --against FILE --role R [--protocol NAME] [--bound K] [--json]`.

Exit 0 when the hand-written machine may replace the role's projection, 1 when it may not (with the
reasons and a shortest run), 2 for a usage error.
"""

from __future__ import annotations

import click

from aura_choreo.cli.output import fail, print_diagnostics, print_json, require_files
from aura_choreo.errors import ChoreographyError


@click.command(name="subtype", help="Check that a hand-written role machine may replace a projection.")
@click.argument("impl", type=click.Path(dir_okay=False))
@click.option(
    "--against",
    "against",
    required=True,
    type=click.Path(dir_okay=False),
    help="The .choreo file with the protocol.",
)
@click.option("--role", "role", required=True, help="The role the machine implements (e.g. Voter[1]).")
@click.option("--protocol", "protocol_name", default=None, help="Which choreography of the file.")
@click.option("--param", "param_values", multiple=True, metavar="K=V", help="Bind a family size or param.")
@click.option(
    "--bound", default=4, show_default=True, type=click.IntRange(min=1), help="Messages per channel explored."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable verdict.")
@click.option("--quiet", is_flag=True, help="Print nothing when accepted.")
def command(
    impl: str,
    against: str,
    role: str,
    protocol_name: str | None,
    param_values: tuple[str, ...],
    bound: int,
    as_json: bool,
    quiet: bool,
) -> None:
    from aura_choreo.cli.params import parse_params
    from aura_choreo.cli.role_hints import unknown_role_hint
    from aura_choreo.protocol import load
    from aura_choreo.verify import DotParseError, MachineCompileError, check_subtype, parse_dot

    require_files(impl, against)
    params = parse_params(param_values)
    try:
        protocol = load(against, protocol_name, params=params)
    except ChoreographyError as exc:
        print_diagnostics(exc.diagnostics, exc.sources)
        raise SystemExit(1) from None
    if role not in protocol.roles:
        fail(
            f"`{protocol.qualified_name}` has no role `{role}`",
            code=2,
            hint=unknown_role_hint([protocol], role),
        )
    try:
        with open(impl, encoding="utf-8") as handle:
            machine = parse_dot(handle.read(), file=impl, role=role)
    except UnicodeDecodeError as exc:
        fail(f"`{impl}` is not UTF-8 text (byte 0x{exc.object[exc.start]:02x})", code=2)
    except OSError as exc:
        fail(f"cannot read `{impl}`: {exc.strerror or exc}", code=2)
    except DotParseError as exc:
        fail(str(exc), code=1, hint="see `aura-choreo project --format dot` for the expected format")
    try:
        result = check_subtype(machine, protocol.local_types(), role, bound=bound)
    except MachineCompileError as exc:
        fail(str(exc), code=1)
    if as_json:
        print_json({"ok": result.accepted, "protocol": protocol.qualified_name, **result.to_json()})
    elif not (quiet and result.accepted):
        click.echo(result.explain(), err=not result.accepted)
    raise SystemExit(0 if result.accepted else 1)
