"""A FILE that declares no choreography (empty, or only comments) given to a command that works on
one: exit 1 with the load's words and code (E091, "declares no choreography"), as `run` and `subtype`
say it; `simulate` and `compile` exited 0 printing nothing, `profile` exited 2 (a usage error), and
`validate` printed "ok: 0 choreographies in 1 file" with exit 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli

COMMANDS = {
    "simulate": ("simulate", "{file}"),
    "compile": ("compile", "{file}", "-o", "{out}"),
    "profile": ("profile", "{file}"),
    "project": ("project", "{file}"),
    "test-gen": ("test-gen", "{file}", "-o", "{out}"),
}


@pytest.mark.parametrize("text", ["", "// only a comment\n"], ids=["empty", "comment"])
@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_file_without_a_choreography_fails_with_exit_1(
    tmp_path: Path, args: tuple[str, ...], text: str
) -> None:
    file = tmp_path / "nothing.choreo"
    file.write_text(text, encoding="utf-8")
    argv = [a.format(file=file, out=tmp_path / "out") for a in args]
    result = CliRunner().invoke(cli, argv)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1, result.output
    assert f"error[E091]: `{file}` declares no choreography" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", ["", "// only a comment\n"], ids=["empty", "comment"])
def test_validate_of_a_file_without_a_choreography_fails_with_e091(tmp_path: Path, text: str) -> None:
    file = tmp_path / "nothing.choreo"
    file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(file)])
    assert result.exit_code == 1, result.output
    assert f"error[E091]: `{file}` declares no choreography" in result.stderr
    assert "ok:" not in result.output
    document = json.loads(CliRunner().invoke(cli, ["validate", "--json", str(file)]).stdout)
    assert document["ok"] is False and [d["code"] for d in document["diagnostics"]] == ["E091"]


def test_subtype_against_a_file_without_a_choreography_says_e091(tmp_path: Path) -> None:
    file = tmp_path / "nothing.choreo"
    file.write_text("", encoding="utf-8")
    impl = tmp_path / "impl.dot"
    impl.write_text("digraph { }", encoding="utf-8")
    result = CliRunner().invoke(cli, ["subtype", str(impl), "--against", str(file), "--role", "A"])
    assert result.exit_code == 1, result.output
    assert "error[E091]" in result.stderr and "E020" not in result.stderr
