"""`--param K=V` reads the same in every command."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli
from aura_choreo.cli.params import parse_params

FAMILY = "choreography F { roles: L, W[N]; L -> W[*]: Go; }\n"


def test_params_are_integers_with_optional_underscores_and_spaces() -> None:
    assert parse_params(("N=5", "threshold = 1_000")) == {"N": 5, "threshold": 1000}


@pytest.mark.parametrize("bad", ["N", "N=many", "=3", "N=-1", "3=3"])
def test_a_malformed_param_is_a_usage_error(bad: str) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_params((bad,))
    assert caught.value.code == 2


def test_the_same_value_twice_is_fine_but_two_values_are_a_usage_error() -> None:
    assert parse_params(("N=4", "N=4")) == {"N": 4}
    with pytest.raises(SystemExit) as caught:
        parse_params(("N=3", "N=4"))
    assert caught.value.code == 2


@pytest.mark.parametrize("command", ["validate", "project", "simulate"])
def test_every_command_refuses_conflicting_params(command: str, tmp_path) -> None:
    path = tmp_path / "f.choreo"
    path.write_text(FAMILY, encoding="utf-8")
    result = CliRunner().invoke(cli, [command, str(path), "--param", "N=3", "--param", "N=4"])
    assert result.exit_code == 2
    assert "--param N is given twice, as 3 and 4" in result.output


@pytest.mark.parametrize("command", ["validate", "project", "simulate"])
def test_a_negative_size_is_refused_by_every_command(command: str, tmp_path) -> None:
    path = tmp_path / "f.choreo"
    path.write_text(FAMILY, encoding="utf-8")
    result = CliRunner().invoke(cli, [command, str(path), "--param", "N=-1"])
    assert result.exit_code == 2
    assert "bad --param `N=-1`" in result.output
