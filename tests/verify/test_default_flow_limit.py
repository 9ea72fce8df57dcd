"""W109: with no flow limit configured, `validate` warns when a worst-case flow cost is over the limit
the guard chain enforces by default, so `validate` and `run` do not disagree silently (hunt5)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from aura_choreo.cli.main import cli
from aura_choreo.guards.flow import DEFAULT_FLOW_LIMIT, FlowBudget


def _protocol(tmp_path: Path, sends: int, cost: int = 1) -> str:
    path = tmp_path / "p.choreo"
    path.write_text(
        f"protocol P {{\n  roles: A, B;\n"
        f"  loop (count: {sends}) {{ A[flow_cost = {cost}] -> B: Ping; }}\n}}\n",
        encoding="utf-8",
    )
    return str(path)


def _validate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", *args])
    return result.exit_code, result.output


def test_the_guard_chain_and_validate_share_one_default() -> None:
    assert FlowBudget().limit == DEFAULT_FLOW_LIMIT == 1024


def test_a_worst_case_over_the_default_is_a_warning_naming_pair_cost_and_limit(tmp_path: Path) -> None:
    code, output = _validate(_protocol(tmp_path, 300, cost=4))
    assert code == 0
    assert "warning[W109]" in output and "A -> B is 1200" in output and "1024" in output


def test_a_worst_case_within_the_default_says_nothing(tmp_path: Path) -> None:
    code, output = _validate(_protocol(tmp_path, 256, cost=4))
    assert (code, "W109" in output) == (0, False)


def test_a_configured_limit_replaces_the_warning(tmp_path: Path) -> None:
    source = _protocol(tmp_path, 300, cost=4)
    assert _validate(source, "--flow-limit", "2000")[0] == 0
    code, output = _validate(source, "--flow-limit", "1000")
    assert code == 1 and "E104" in output and "W109" not in output


def test_strict_makes_it_an_error(tmp_path: Path) -> None:
    code, output = _validate("--strict", _protocol(tmp_path, 300, cost=4))
    assert code == 1 and "W109" in output
