"""`aura-choreo validate FILE... [--json] [--strict] [--quiet]`: check choreographies, report every problem.

The check runs in stages over one shared `Validation`. Each stage reads what earlier stages left
(the loaded files, the diagnostics so far) and adds diagnostics and per-protocol fields:

1. syntax (this module): parse every file and its imports; name and annotation checks.
2. semantics + projection: add a stage function to `STAGES` below.
3. verification (`stage_verification.py`): model check (`deadlock_free`, `states`), reachability,
   budgets and manifests (`--bound`, `--no-por`, `--flow-limit`, `--policy`, `--max-states`).

The JSON report is SPEC §7: `{"ok", "diagnostics": [...], "protocols": [{"name", "roles", ...}]}`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from aura_choreo.cli.output import fail, print_diagnostics, print_json
from aura_choreo.diagnostics import Diagnostic, did_you_mean, has_errors, promote_warnings, sort_diagnostics
from aura_choreo.syntax import load_sources
from aura_choreo.syntax.ast import Choreography, SourceFile
from aura_choreo.syntax.formatter import format_role_decl

if TYPE_CHECKING:
    from aura_choreo.protocol import Protocol


@dataclass(frozen=True)
class ValidateOptions:
    """What the command line asked for."""

    strict: bool = False
    extra_annotation_keys: frozenset[str] = frozenset()
    params: tuple[tuple[str, int], ...] = ()
    """`--param K=V` bindings of family sizes and integer parameters (unbound ones default to 3)."""
    bound: int = 4
    """`--bound K`: messages per channel explored by the model checker."""
    por: bool = True
    """`--no-por` turns partial-order reduction off (the full interleaving graph)."""
    flow_limit: int | None = None
    """`--flow-limit N`: worst-case flow cost allowed per (role, peer) in one session."""
    policy: str | None = None
    """`--policy FILE`: the run-time policy (TOML/JSON) whose limits and capabilities are checked."""
    max_states: int | None = 2_000_000
    """`--max-states N`: stop exploring a protocol after this many states (W107)."""


@dataclass
class ProtocolReport:
    """One choreography in the report; later stages add JSON fields to `fields`."""

    choreography: Choreography
    file: str
    fields: dict[str, object] = field(default_factory=dict)
    protocol: Protocol | None = None
    """The checked and projected protocol (set by the projection stage), kept with its own report:
    two files may hold protocols of the same name, each with its own verdict."""

    def to_json(self) -> dict[str, object]:
        roles = [format_role_decl(r) for r in self.choreography.roles]
        return {"name": self.choreography.qualified_name, "file": self.file, "roles": roles, **self.fields}


@dataclass
class Validation:
    """The state the stages build up: loaded files (imports first), sources, diagnostics, protocols."""

    options: ValidateOptions
    files: dict[str, SourceFile] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    protocols: list[ProtocolReport] = field(default_factory=list)

    def file_has_errors(self, path: str) -> bool:
        """Whether `path` has an error so far (later stages skip such files' choreographies)."""
        return any(d.is_error and d.span.file == path for d in self.diagnostics)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "protocols": [p.to_json() for p in self.protocols],
        }


Stage = Callable[[Validation], None]


def syntax_stage(validation: Validation, paths: Sequence[str]) -> None:
    """Stage 1: parse each file and what it imports, with the name and annotation checks."""
    for path in paths:
        loaded = load_sources(path, extra_annotation_keys=validation.options.extra_annotation_keys)
        validation.diagnostics.extend(loaded.diagnostics)
        validation.sources.update(loaded.sources)
        for name, file in loaded.files.items():
            if name in validation.files:
                continue
            validation.files[name] = file
            validation.protocols.extend(ProtocolReport(c, name) for c in file.choreographies)


# ---- LATER STAGES GO HERE -------------------------------------------------------------------------
# Semantics + projection (engineer 2), then verification (engineer 3): each is a function
# `stage(validation) -> None` that appends diagnostics and sets `protocol.fields[...]` (e.g.
# "deadlock_free", "states"). They run in this order after the syntax stage.
def _projection_stage(validation: Validation) -> None:
    from aura_choreo.cli.stage_projection import projection_stage

    projection_stage(validation)


def _verification_stage(validation: Validation) -> None:
    from aura_choreo.cli.stage_verification import verification_stage

    policy = None
    if validation.options.policy is not None:
        from aura_choreo.guards.policy import load_policy

        policy = load_policy(validation.options.policy)
    verification_stage(validation, policy)


STAGES: tuple[Stage, ...] = (_projection_stage, _verification_stage)
# ----------------------------------------------------------------------------------------------------


def validate_paths(paths: Sequence[str], options: ValidateOptions | None = None) -> Validation:
    """Run every stage over `paths`; diagnostics end up sorted, warnings promoted under `--strict`."""
    validation = Validation(options or ValidateOptions())
    syntax_stage(validation, paths)
    for stage in STAGES:
        stage(validation)
    diagnostics = sort_diagnostics(validation.diagnostics)
    validation.diagnostics = promote_warnings(diagnostics) if validation.options.strict else diagnostics
    return validation


@click.command(name="validate", help="Check choreographies: syntax, names, projection, deadlocks.")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the SPEC §7 JSON report on stdout.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
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
    param_values: tuple[str, ...],
    quiet: bool,
    bound: int,
    no_por: bool,
    flow_limit: int | None,
    policy_path: str | None,
    max_states: int,
) -> None:
    from aura_choreo.cli.params import parse_params

    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        fail(f"cannot read `{missing[0]}`: no such file", code=2)
    if policy_path is not None:
        from aura_choreo.guards.policy import PolicyError, load_policy

        try:
            load_policy(policy_path)
        except PolicyError as exc:
            fail(str(exc), code=2)
    params = tuple(parse_params(param_values).items())
    options = ValidateOptions(
        strict=strict,
        params=params,
        bound=bound,
        por=not no_por,
        flow_limit=flow_limit,
        policy=policy_path,
        max_states=max_states,
    )
    validation = validate_paths(_distinct_files(files), options)
    _check_params_used(validation, [key for key, _ in params])
    if as_json:
        print_json(validation.to_json())
    else:
        print_diagnostics(validation.diagnostics, validation.sources)
        if validation.ok and not quiet:
            count = len(validation.protocols)
            click.echo(
                f"ok: {count} choreograph{'y' if count == 1 else 'ies'} in {len(validation.files)} "
                f"file{'' if len(validation.files) == 1 else 's'}"
            )
    raise SystemExit(0 if validation.ok else 1)


def _check_params_used(validation: Validation, given: list[str]) -> None:
    """A `--param` that no checked protocol has is a usage error (most likely a typo), as in `project`."""
    reports = validation.protocols
    if not reports or any("params" not in r.fields for r in reports):
        return  # some protocol was not checked (an earlier error): its parameters are unknown
    known = {name for r in reports for name in r.fields["params"]}  # type: ignore[attr-defined]
    for key in given:
        if key not in known:
            hint = did_you_mean(key, known) or f"parameters: {', '.join(sorted(known)) or 'none'}"
            fail(f"unknown parameter `{key}`", code=2, hint=hint)


def _distinct_files(files: Sequence[str]) -> list[str]:
    """Each file once however it is spelled (`a.choreo`, `/abs/a.choreo`), in its first spelling."""
    seen: set[str] = set()
    distinct: list[str] = []
    for f in files:
        real = os.path.realpath(f)
        if real not in seen:
            seen.add(real)
            distinct.append(f)
    return distinct

