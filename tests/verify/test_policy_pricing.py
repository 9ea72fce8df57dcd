"""`validate --policy` prices each send as the guard chain will (SPEC §5.2, §5.3): a policy's
`message_guards` and `default_message_guard` override the annotations in the worst-case budgets (E104)
exactly as at run time, where the same sends are refused (`simulate --policy`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aura_choreo.cli.main import cli

PING = "protocol Pinger {\n  roles: A, B\n  A -> B: Ping\n  A -> B: Ping\n  B -> A: Pong\n}\n"
POLICIES = {
    "message-guard": "[defaults]\nflow_limit = 1000\n[message_guards.Ping]\nflow_cost = 600\n",
    "default-guard": "[defaults]\nflow_limit = 1000\n[default_message_guard]\nflow_cost = 600\n",
}


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def _files(tmp_path: Path, policy: str) -> tuple[str, str]:
    protocol, policy_file = tmp_path / "ping.choreo", tmp_path / "policy.toml"
    protocol.write_text(PING, encoding="utf-8")
    policy_file.write_text(policy, encoding="utf-8")
    return str(protocol), str(policy_file)


@pytest.mark.parametrize("policy", POLICIES.values(), ids=POLICIES.keys())
def test_validate_policy_prices_sends_by_the_policys_message_guards(tmp_path: Path, policy: str) -> None:
    protocol, policy_file = _files(tmp_path, policy)
    assert run("simulate", protocol, "--policy", policy_file).exit_code == 1  # the run is refused...
    result = run("validate", protocol, "--policy", policy_file)
    assert result.exit_code == 1, result.output  # ... and validate says so beforehand
    assert "error[E104]" in result.stderr and "1200" in result.stderr and "1000" in result.stderr


def test_a_message_guard_that_lowers_the_cost_is_counted_too(tmp_path: Path) -> None:
    annotated = PING.replace("A -> B: Ping", "A[flow_cost = 700] -> B: Ping")
    policy = "[defaults]\nflow_limit = 1000\n[message_guards.Ping]\nflow_cost = 5\n"
    protocol, policy_file = _files(tmp_path, policy)
    Path(protocol).write_text(annotated, encoding="utf-8")
    assert "warning[W109]" in run("validate", protocol).stderr  # 1400 by the annotations alone
    result = run("validate", protocol, "--policy", policy_file)
    assert result.exit_code == 0, result.output
    assert run("simulate", protocol, "--policy", policy_file).exit_code == 0
