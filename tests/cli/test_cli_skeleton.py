from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from aura_choreo import __version__
from aura_choreo.cli.main import cli
from aura_choreo.cli.registry import COMMANDS

SPEC_COMMANDS = ["validate", "project", "compile", "simulate", "run", "profile", "doc", "test-gen",
                 "subtype", "fmt"]


def test_help_lists_every_spec_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in SPEC_COMMANDS:
        assert name in result.output


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2


def _unlanded() -> list[str]:
    import importlib.util

    return [n for n, (m, _) in COMMANDS.items() if m is None or importlib.util.find_spec(m) is None]


@pytest.mark.parametrize("name", _unlanded())
def test_unlanded_commands_say_so_and_exit_2(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "anything.choreo"])
    assert result.exit_code == 2
    assert "not implemented yet" in result.output


@pytest.mark.parametrize("name", _unlanded())
def test_unlanded_commands_json_is_valid(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--json"])
    first = result.output.splitlines()[0]
    assert json.loads(first) == {"ok": False, "error": "not implemented yet"}


def test_help_is_fast_because_imports_are_lazy() -> None:
    code = (
        "import sys; from aura_choreo.cli.main import cli; "
        "sys.argv=['aura-choreo','--help']\n"
        "try:\n    cli.main(standalone_mode=False)\nexcept SystemExit: pass\n"
        "heavy=[m for m in ('rich','lark','msgspec','cryptography','sqlite3') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_unexpected_exceptions_become_one_line_and_a_hint(monkeypatch, capsys) -> None:
    import aura_choreo.cli.main as main_module

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(main_module.cli, "main", boom)
    with pytest.raises(SystemExit) as exc:
        main_module.main(["validate"])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: kaboom" in err
    assert "--debug" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(monkeypatch, capsys) -> None:
    import aura_choreo.cli.main as main_module

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(main_module.cli, "main", boom)
    with pytest.raises(SystemExit):
        main_module.main(["--debug", "validate"])
    assert "Traceback" in capsys.readouterr().err
