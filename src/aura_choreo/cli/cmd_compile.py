"""`aura-choreo compile FILE -o DIR [--param K=V]... [--check]` and `aura-choreo compile --check DIR`."""

from __future__ import annotations

import os
from typing import NoReturn

import click

from aura_choreo.cli.out_paths import require_output_dir
from aura_choreo.cli.output import fail as print_failure
from aura_choreo.cli.output import print_diagnostics, print_json, require_choreography, require_files
from aura_choreo.cli.params import parse_params
from aura_choreo.codegen import CodegenError
from aura_choreo.codegen.build import Compiled, compile_file, find_origins, resolve_source, stale, write_all
from aura_choreo.diagnostics import did_you_mean
from aura_choreo.errors import ChoreographyError


@click.command(name="compile", help="Generate a typed Python package per choreography (SPEC §6).")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out_dir", default=None, metavar="DIR", help="Where to write the packages.")
@click.option(
    "--param", "param_values", multiple=True, metavar="K=V", help="Bind a family size or parameter."
)
@click.option(
    "--check",
    "check",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[DIR]",
    help="Write nothing; exit 1 if DIR's generated code is stale against its choreographies.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--quiet", is_flag=True, help="Do not print warnings and notes.")
def command(
    file: str | None,
    out_dir: str | None,
    param_values: tuple[str, ...],
    check: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    params = parse_params(param_values)
    if check is not None and file is None:
        _check_dir(check or out_dir, as_json)
        return
    if file is None:
        fail("no choreography file given", code=2, hint="aura-choreo compile FILE -o DIR")
    if check:  # `compile FILE --check DIR`
        out_dir = check
    if out_dir is None:
        fail("no output directory", code=2, hint=f"aura-choreo compile {file} -o DIR")
    require_files(file)
    if check is None:
        require_output_dir(out_dir)
    compiled = _compile(file, params, None)
    require_choreography(len(compiled.packages), file)
    for key in params:
        if key not in compiled.parameters:
            known = ", ".join(sorted(compiled.parameters)) or "none"
            fail(
                f"unknown parameter `{key}`",
                code=2,
                hint=did_you_mean(key, compiled.parameters) or f"parameters: {known}",
            )
    if check is not None:
        files = stale(compiled, out_dir)
        _report_stale(files, out_dir, as_json)
        return
    try:
        write_all(compiled, out_dir)
    except OSError as exc:
        fail(f"cannot write to `{out_dir}`: {exc.strerror or exc}", code=2)
    if as_json:
        print_json(
            {
                "ok": True,
                "packages": [
                    {"protocol": p.protocol, "directory": p.directory, "files": sorted(p.files)}
                    for p in compiled.packages
                ],
            }
        )
    elif not quiet:
        for package in compiled.packages:
            click.echo(
                f"{package.protocol}: {os.path.join(out_dir, package.directory)} ({len(package.files)} files)"
            )


def fail(message: str, *, code: int = 1, hint: str | None = None) -> NoReturn:
    print_failure(message, code=code, hint=hint)
    raise SystemExit(code)  # `print_failure` exits; this tells the type checker


def _compile(file: str, params: dict[str, int], source: str | None) -> Compiled:
    try:
        return compile_file(file, params, source=source)
    except ChoreographyError as exc:
        print_diagnostics(exc.diagnostics, exc.sources)
        raise SystemExit(1) from None
    except CodegenError as exc:
        fail(str(exc), code=1)


def _check_dir(out_dir: str | None, as_json: bool) -> None:
    if not out_dir:
        fail("no directory to check", code=2, hint="aura-choreo compile --check DIR")
    if not os.path.isdir(out_dir):
        fail(f"`{out_dir}` is not a directory", code=2)
    origins = find_origins(out_dir)
    if not origins:
        fail(f"no generated package under `{out_dir}`", code=2, hint="aura-choreo compile FILE -o DIR")
    files: list[str] = []
    for origin in origins:
        path = resolve_source(origin.source, out_dir)
        if not os.path.isfile(path):
            files.append(f"{origin.source} (source file missing)")
            continue
        compiled = _compile(path, dict(origin.params), origin.source)
        files += stale(compiled, out_dir)
    _report_stale(files, out_dir, as_json)


def _report_stale(files: list[str], out_dir: str, as_json: bool) -> None:
    if as_json:
        print_json({"ok": not files, "stale": files})
    elif files:
        click.echo(f"stale generated code under {out_dir}:", err=True)
        for name in files:
            click.echo(f"  {name}", err=True)
        click.echo("  = help: run `aura-choreo compile FILE -o DIR` again", err=True)
    else:
        click.echo(f"generated code under {out_dir} is up to date")
    if files:
        raise SystemExit(1)
