"""A FILE that declares no choreography (empty, or only comments) given to a command that works on
one: exit 1 with the load's words (E020's "declares no choreography"), as `run` and `subtype` say it;
`simulate` and `compile` exited 0 printing nothing, `profile` exited 2 (a usage error)."""

from __future__ import annotations

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
    assert f"`{file}` declares no choreography" in result.stderr
    assert not (tmp_path / "out").exists()
