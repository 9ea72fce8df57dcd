"""`aura-choreo validate FILE... [--json] [--strict] [--strict-choice] [--quiet]`: report every problem.

The checks are the library's (`aura_choreo.pipeline.validate_paths`); this command turns the options
into `ValidateOptions`, loads the policy file (a usage error if it cannot be read) and prints the
result: diagnostics with carets, or the SPEC §7 JSON report.
"""

from __future__ import annotations

import click

from aura_choreo.cli.output import distinct_files, fail, print_diagnostics, print_json, require_files
from aura_choreo.cli.policy_arg import read_policy
from aura_choreo.diagnostics import did_you_mean
from aura_choreo.pipeline import ValidateOptions, Validation, validate_paths


@click.command(name="validate", help="Check choreographies: syntax, names, projection, deadlocks.")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the SPEC §7 JSON report on stdout.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option(
    "--strict-choice",
    is_flag=True,
    help="A role that cannot learn a choice is an error (E080), not notified.",
)
@click.option("--param", "param_values", multiple=True, metavar="K=V", help="Bind a family size or param.")
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
@click.option(
    "--bound",
    default=4,
    show_default=True,
    type=click.IntRange(min=1),
    help="Messages per channel explored by the model checker.",
)
@click.option("--no-por", is_flag=True, help="Explore every interleaving (no partial-order reduction).")
@click.option(
    "--flow-limit",
    type=click.IntRange(min=0),
    default=None,
    help="Worst-case flow cost allowed per role and peer in one session.",
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Run-time policy file (TOML/JSON) whose limits and capabilities are checked.",
)
@click.option(
    "--max-states",
    type=click.IntRange(min=1),
    default=2_000_000,
    show_default=True,
    help="Stop exploring a protocol after this many states.",
)
def command(
    files: tuple[str, ...],
    as_json: bool,
    strict: bool,
    strict_choice: bool,
    param_values: tuple[str, ...],
    quiet: bool,
    bound: int,
    no_por: bool,
    flow_limit: int | None,
    policy_path: str | None,
    max_states: int,
) -> None:
    from aura_choreo.cli.params import parse_params

    require_files(*files)
    policy = None
    if policy_path is not None:
        policy = read_policy(policy_path)
    params = tuple(parse_params(param_values).items())
    options = ValidateOptions(
        strict=strict,
        strict_choice=strict_choice,
        params=params,
        bound=bound,
        por=not no_por,
        flow_limit=flow_limit,
        policy=policy,
        max_states=max_states,
    )
    validation = validate_paths(distinct_files(files), options)
    _check_params_used(validation, [key for key, _ in params])
    if as_json:
        print_json(validation.to_json())
    else:
        print_diagnostics(validation.diagnostics, validation.sources)
        if validation.ok and not quiet:
            count = len(validation.protocols)
            what = (
                f"{count} choreograph{'y' if count == 1 else 'ies'} in {len(validation.files)} "
                f"file{'' if len(validation.files) == 1 else 's'}"
            )
            partial = ", ".join(
                r.name for r in validation.protocols if r.verification and not r.verification.complete
            )
            if partial:  # never "ok" for a model check that stopped at --max-states (issue 11 item 20)
                click.echo(f"partial: {what}; not explored to the end: {partial} (raise --max-states)")
            else:
                click.echo(f"ok: {what}")
    raise SystemExit(0 if validation.ok else 1)


def _check_params_used(validation: Validation, given: list[str]) -> None:
    """A `--param` that no checked protocol has is a usage error (most likely a typo), as in `project`."""
    reports = validation.protocols
    if not reports or any(r.params is None for r in reports):
        return  # some protocol was not checked (an earlier error): its parameters are unknown
    known = {name for r in reports for name in r.params or ()}
    for key in given:
        if key not in known:
            hint = did_you_mean(key, known) or f"parameters: {', '.join(sorted(known)) or 'none'}"
            fail(f"unknown parameter `{key}`", code=2, hint=hint)
