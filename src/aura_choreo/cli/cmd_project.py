"""`aura-choreo project FILE [--role R] [--format text|json|dot|mermaid] [--param K=V]...`."""

from __future__ import annotations

import click

from aura_choreo.cli.output import fail, print_diagnostics, print_json, require_choreography, require_files
from aura_choreo.cli.params import parse_params
from aura_choreo.cli.role_hints import unknown_role_hint
from aura_choreo.diagnostics import Diagnostic, did_you_mean, has_errors
from aura_choreo.projection.local_types import LocalType
from aura_choreo.projection.render_json import to_json
from aura_choreo.projection.render_text import render_text
from aura_choreo.protocol import Protocol, build_file

# Text and JSON come from projection/, the diagrams from verify/ (which owns state machines): the
# command line, above both stages, is where the choice between them is made.
FORMATS = ("text", "json", "dot", "mermaid")


def _render(local_type: LocalType, fmt: str) -> str:
    if fmt == "text":
        return render_text(local_type)
    from aura_choreo.verify.export import to_dot, to_mermaid

    return to_dot(local_type) if fmt == "dot" else to_mermaid(local_type)


def _load(
    path: str, params: dict[str, int], strict_choice: bool
) -> tuple[list[Protocol], list[Diagnostic], dict[str, str]]:
    built = build_file(path, params=params, strict_choice=strict_choice or None)
    return built.protocols, list(built.diagnostics), dict(built.sources)


def _select(protocols: list[Protocol], name: str | None) -> list[Protocol]:
    if name is None:
        return protocols
    chosen = [p for p in protocols if name in (p.name, p.qualified_name)]
    if not chosen:
        names = [p.qualified_name for p in protocols]
        fail(
            f"no choreography `{name}` in this file",
            code=2,
            hint=did_you_mean(name, names) or f"choose one of: {', '.join(names)}",
        )
    return chosen


def _types(protocols: list[Protocol], role: str | None) -> list[LocalType]:
    if role is None:
        return [t for p in protocols for t in p.local_types().values()]
    found = [p.local_type(role) for p in protocols if role in p.roles]
    if not found:
        fail(f"unknown role `{role}`", code=2, hint=unknown_role_hint(protocols, role))
    return found


def _check_params(protocols: list[Protocol], params: dict[str, int]) -> None:
    known = {name for p in protocols for name in p.params}
    for key in params:
        if key not in known:
            hint = did_you_mean(key, known) or f"parameters: {', '.join(sorted(known)) or 'none'}"
            fail(f"unknown parameter `{key}`", code=2, hint=hint)


@click.command(name="project", help="Show the local protocol of each role (text, JSON, DOT, Mermaid).")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--role", "role", default=None, help="Only this role (a family instance is `Name[i]`).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--param", "param_values", multiple=True, metavar="K=V", help="Bind a family size or parameter."
)
@click.option("--protocol", "protocol_name", default=None, help="Only this choreography of the file.")
@click.option("--strict-choice", is_flag=True, help="A role that cannot learn a choice is an error (E080).")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--quiet", is_flag=True, help="Do not print warnings and notes.")
def command(
    file: str,
    role: str | None,
    fmt: str,
    param_values: tuple[str, ...],
    protocol_name: str | None,
    strict_choice: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    require_files(file)
    params = parse_params(param_values)
    fmt = "json" if as_json else fmt
    protocols, diagnostics, sources = _load(file, params, strict_choice)
    if has_errors(diagnostics):
        if fmt == "json":
            print_json({"ok": False, "diagnostics": [d.to_json() for d in diagnostics]})
        print_diagnostics(diagnostics, sources)
        raise SystemExit(1)
    require_choreography(len(protocols), file)
    protocols = _select(protocols, protocol_name)
    _check_params(protocols, params)
    types = _types(protocols, role)
    if not quiet:
        print_diagnostics([d for d in diagnostics if not d.is_error], sources)
    if fmt == "json":
        documents = [to_json(t) for t in types]
        print_json(documents[0] if role is not None and len(documents) == 1 else documents)
        return
    rendered = [_render(t, fmt) for t in types]
    click.echo("\n".join(text.rstrip("\n") + "\n" for text in rendered).rstrip("\n"))
