"""`--policy FILE`: a policy is TOML when its name ends in `.toml` and JSON otherwise (fix8's note:
a TOML policy named `policy.txt` was refused with only "invalid JSON: Expecting value"). The refusal
now says what is expected, and a file that is valid TOML under another name is told to be renamed."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli

TPC = str(Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo")
TOML = '[devices.coordinator]\ncapabilities = ["x"]\n'

COMMANDS = {
    "validate": ("validate", TPC, "--policy", "{policy}"),
    "simulate": ("simulate", TPC, "--policy", "{policy}", "--runs", "1"),
    "run": ("run", TPC, "--role", "Coordinator", "--policy", "{policy}", "--key", "{policy}"),
}


@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_toml_policy_without_the_toml_suffix_is_told_to_be_renamed(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    policy = tmp_path / "policy.txt"
    policy.write_text(TOML, encoding="utf-8")
    result = CliRunner().invoke(cli, [a.format(policy=policy) for a in args])
    assert result.exit_code == 2, result.output
    assert "invalid JSON" in result.stderr
    assert "read as JSON" in result.stderr and "ends in `.toml`" in result.stderr
    assert "it is valid TOML: rename it `policy.toml`" in result.stderr


def test_a_policy_that_is_neither_says_what_either_would_be(tmp_path: Path) -> None:
    policy = tmp_path / "policy.conf"
    policy.write_text("capabilities: x\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", TPC, "--policy", str(policy)])
    assert result.exit_code == 2, result.output
    assert "a policy file is TOML when its name ends in `.toml`, JSON otherwise" in result.stderr
    assert "rename" not in result.stderr


def test_a_broken_toml_policy_gets_no_json_hint(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[devices\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", TPC, "--policy", str(policy)])
    assert result.exit_code == 2, result.output
    assert "invalid TOML" in result.stderr and "JSON" not in result.stderr
