"""`aura-choreo test-gen FILE -o DIR [--param K=V]`: write a pytest suite per choreography (SPEC §7)."""

from __future__ import annotations

import os

import click

from aura_choreo.cli.out_paths import require_output_dir
from aura_choreo.cli.output import (
    fail,
    fail_with_diagnostics,
    print_json,
    require_choreography,
    require_files,
)
from aura_choreo.cli.params import parse_params
from aura_choreo.docs import load_files
from aura_choreo.testgen import write_suite


@click.command(name="test-gen", help="Generate a pytest suite for a choreography.")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "output", required=True, help="Directory for the suite.")
@click.option(
    "--param", "param_values", multiple=True, metavar="K=V", help="Bind a family size or parameter."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result.")
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
def command(file: str, output: str, param_values: tuple[str, ...], as_json: bool, quiet: bool) -> None:
    require_files(file)
    require_output_dir(output)
    loaded = load_files([file], parse_params(param_values))
    if not loaded.ok:
        fail_with_diagnostics(loaded.diagnostics, loaded.sources, as_json=as_json)
    require_choreography(len(loaded.protocols), file)
    try:
        written = write_suite(loaded.protocols, [file] * len(loaded.protocols), output)
    except OSError as exc:
        fail(f"cannot write into `{output}`: {exc.strerror}", code=2)
        raise
    if as_json:
        print_json(
            {
                "ok": True,
                "files": list(written.files),
                "kept_behaviours": written.kept_behaviours,
                "tests": written.tests,
            }
        )
    elif not quiet:
        for path in written.files:
            click.echo(f"wrote {path}")
        if written.kept_behaviours:
            click.echo(f"kept {os.path.join(output, 'behaviours.py')} (yours: never overwritten)")
        click.echo(f"{written.tests} tests; run them with `pytest {output}`")
