"""A usage error (exit 2) under `--json` answers in the command's own SPEC §7 document, whoever found
it: the command (`fail`) or click while parsing the options (`main`). `run --json` prints the §5.6
result with its `error` object (filled with what is known: role, session, protocol, hash, device),
`simulate --json` its report, `validate --json` its document, each with `ok` false (one rule,
`cli.failure_json`); the text on stderr is unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aura_choreo.cli.main import main
from aura_choreo.deployment import protocol_hash
from aura_choreo.protocol import load
from aura_choreo.transports.net.identity import write_key_file

TPC = str(Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo")
RUN_FIELDS = {"ok", "role", "session", "protocol", "protocol_hash", "trace", "error"}
RUN_ERROR_FIELDS = {"error", "role", "step", "message"}
SIMULATE_FIELDS = {"ok", "runs", "failed_runs", "failures", "trace"}
VALIDATE_FIELDS = {"ok", "diagnostics", "protocols"}


def answer(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object], str]:
    with pytest.raises(SystemExit) as ended:
        main([*args, "--json"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "internal error" not in captured.err
    return int(ended.value.code or 0), json.loads(captured.out), captured.err


def _run_error(document: dict[str, object]) -> dict[str, object]:
    assert RUN_FIELDS <= document.keys() and document["ok"] is False and document["trace"] == []
    error = document["error"]
    assert isinstance(error, dict) and RUN_ERROR_FIELDS <= error.keys()
    assert error["error"] == "UsageError" and error["role"] == document["role"]
    return error


def test_run_json_of_an_unreadable_policy_is_the_run_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = str(tmp_path / "none.toml")
    args = ("run", TPC, "--role", "Coordinator", "--session", "s7", "--policy", policy, "--key", "k")
    code, document, err = answer(capsys, *args)
    assert code == 2
    error = _run_error(document)
    assert "cannot read policy file" in str(error["message"]) and "cannot read policy file" in err
    assert document["role"] == "Coordinator" and document["session"] == "s7"
    assert document["protocol"] == "TwoPhaseCommit"
    assert document["protocol_hash"] == protocol_hash(load(TPC))


def test_run_json_of_a_wrong_key_names_the_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, coord = write_key_file("coord", tmp_path)
    write_key_file("other", tmp_path)
    policy = tmp_path / "policy.toml"
    policy.write_text(
        f'[roles]\nCoordinator = "coord"\n[devices.coord]\npublic_key = "{coord}"\n', encoding="utf-8"
    )
    key = str(tmp_path / "other.key")
    args = ("run", TPC, "--role", "Coordinator", "--policy", str(policy), "--key", key)
    code, document, _ = answer(capsys, *args)
    assert code == 2
    _run_error(document)
    assert document["device"] == "coord"


def test_run_json_of_a_bad_option_value_is_the_run_result(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("run", TPC, "--role", "Participant", "--policy", "p", "--key", "k", "--timeout", "soon")
    code, document, err = answer(capsys, *args)
    assert code == 2
    error = _run_error(document)
    assert "'soon' is not a valid float" in str(error["message"]) and "Usage: aura-choreo run" in err
    assert document["role"] == "Participant"


def test_run_json_of_a_missing_option_is_the_run_result(capsys: pytest.CaptureFixture[str]) -> None:
    code, document, _ = answer(capsys, "run", TPC, "--policy", "p", "--key", "k")
    assert code == 2
    assert "Missing option '--role'" in str(_run_error(document)["message"])
    assert document["role"] is None


@pytest.mark.parametrize("args", [("--drop", "7"), ("--bogus",)], ids=["found-by-simulate", "found-by-click"])
def test_simulate_json_of_a_usage_error_is_the_simulate_report(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, document, _ = answer(capsys, "simulate", TPC, *args)
    assert code == 2
    assert SIMULATE_FIELDS <= document.keys() and document["ok"] is False
    assert [document[k] for k in ("runs", "failed_runs", "failures", "trace")] == [0, 0, [], []]
    assert isinstance(document["error"], str) and isinstance(document["hints"], list)


@pytest.mark.parametrize(
    "args", [("--policy", "/nonexistent.toml"), ("--bogus",)], ids=["found-by-validate", "found-by-click"]
)
def test_validate_json_of_a_usage_error_is_the_validate_document(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, document, _ = answer(capsys, "validate", TPC, *args)
    assert code == 2
    assert VALIDATE_FIELDS <= document.keys() and document["ok"] is False
    assert document["diagnostics"] == [] and document["protocols"] == []
    assert isinstance(document["error"], str)


def test_a_command_without_a_json_contract_keeps_the_plain_answer(capsys: pytest.CaptureFixture[str]) -> None:
    code, document, _ = answer(capsys, "check-trace", TPC, "/nonexistent.jsonl")
    assert code == 2
    assert set(document) == {"ok", "error", "hints"} and document["ok"] is False
