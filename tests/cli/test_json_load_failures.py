"""A protocol that fails to load answers `--json` in the command's own SPEC §7 contract.

`run --json` prints the §5.6 result (`ok`, `role`, `session`, `protocol`, `protocol_hash`, `trace`,
`error`) and `simulate --json` its report (`ok`, `runs`, `failed_runs`, `failures`, `trace`), each with
the load's diagnostics as an extra `diagnostics` field (§7: fields may be added, none removed), so a
consumer reading either contract finds every field it reads whatever went wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli

UNBOUND = "protocol Fan {\n  roles: Leader, Workers[N]\n  Leader -> Workers[*]: Task\n}\n"
UNDEFINED_ROLE = "protocol Bad {\n  roles: A, B\n  A -> C: M\n}\n"

RUN_FIELDS = {"ok", "role", "session", "protocol", "protocol_hash", "trace", "error"}
RUN_ERROR_FIELDS = {"error", "role", "step", "message"}
SIMULATE_FIELDS = {"ok", "runs", "failed_runs", "failures", "trace"}


def answer(*args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def run_json(tmp_path: Path, text: str, role: str, *extra: str) -> tuple[int, dict[str, object]]:
    file = tmp_path / "p.choreo"
    file.write_text(text, encoding="utf-8")
    # The load comes before the policy and the key are read: neither needs to exist.
    return answer(
        "run", str(file), "--role", role, "--policy", str(tmp_path / "none.toml"),
        "--key", str(tmp_path / "none.key"), "--json", *extra,
    )  # fmt: skip


def test_run_json_of_an_unbound_parameter_is_the_run_result_with_e014(tmp_path: Path) -> None:
    code, document = run_json(tmp_path, UNBOUND, "Leader", "--session", "s1")
    assert code == 1
    assert RUN_FIELDS <= document.keys()
    assert document["ok"] is False and document["trace"] == []
    assert document["role"] == "Leader" and document["session"] == "s1"
    assert document["protocol"] == "Fan" and document["protocol_hash"] is None
    error = document["error"]
    assert isinstance(error, dict) and RUN_ERROR_FIELDS <= error.keys()
    assert error["error"] == "ChoreographyError" and error["role"] == "Leader"
    assert "error[E014]" in error["message"] and "`N`" in error["message"]
    assert [d["code"] for d in document["diagnostics"]] == ["E014"]  # type: ignore[attr-defined]


def test_run_json_of_a_protocol_that_does_not_check_is_the_run_result(tmp_path: Path) -> None:
    code, document = run_json(tmp_path, UNDEFINED_ROLE, "A")
    assert code == 1
    assert RUN_FIELDS <= document.keys()
    assert document["ok"] is False and document["protocol"] is None and document["session"] is None
    assert "error[E010]" in document["error"]["message"]  # type: ignore[index]
    assert [d["code"] for d in document["diagnostics"]] == ["E010"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", [UNDEFINED_ROLE, "protocol {"])
def test_simulate_json_of_a_protocol_that_does_not_load_is_the_simulate_report(
    tmp_path: Path, text: str
) -> None:
    file = tmp_path / "p.choreo"
    file.write_text(text, encoding="utf-8")
    code, document = answer("simulate", str(file), "--json")
    assert code == 1
    assert SIMULATE_FIELDS <= document.keys()
    assert document["ok"] is False
    assert [document[k] for k in ("runs", "failed_runs", "failures", "trace")] == [0, 0, [], []]
    diagnostics = document["diagnostics"]
    assert isinstance(diagnostics, list) and diagnostics
    assert all(d["severity"] == "error" for d in diagnostics)
