"""`aura-choreo simulate` and `aura-choreo check-trace` from the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aura_choreo.cli.main import cli
from conftest import SEED_CORPUS

TPC = str(Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo")
SAGA = str(SEED_CORPUS / "003_CompensatingTransaction.choreo")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_text_output_is_a_summary_whatever_the_number_of_runs() -> None:
    result = run("simulate", TPC, "--runs", "200", "--drop", "0.1", "--delay", "2..20")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "TwoPhaseCommit: 200 runs (seeds 0..199), 200 ok, 0 failed"
    assert len(lines) == 3  # the summary; failing seeds would follow it
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_verbose_text_output_has_a_line_per_run_and_a_summary() -> None:
    result = run("simulate", TPC, "--seed", "5", "--runs", "3", "--drop", "0.1", "--delay", "2..20", "-v")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["seed 5", "seed 6", "seed 7"]
    assert all(": ok (4 messages" in line for line in lines[:3])
    assert lines[3] == "TwoPhaseCommit: 3 runs (seeds 5..7), 3 ok, 0 failed"
    assert "roles: Coordinator, Participant" in lines[4]
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_json_output_follows_the_spec() -> None:
    result = run("simulate", TPC, "--runs", "4", "--dup", "30%", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert {"ok", "runs", "failed_runs", "failures", "trace"} <= set(document)
    assert document["ok"] is True and document["runs"] == 4 and document["failed_runs"] == 0
    assert [e["label"] for e in document["trace"]][:2] == ["PrepareRequest", "PrepareResponse"]
    assert set(document["trace"][0]) == {"from", "to", "label", "time"}


def test_same_seed_same_json_byte_for_byte() -> None:
    args = (
        "simulate",
        TPC,
        "--seed",
        "9",
        "--runs",
        "5",
        "--drop",
        "0.3",
        "--dup",
        "0.3",
        "--reorder",
        "--json",
    )
    assert run(*args).stdout == run(*args).stdout


def test_failing_runs_exit_1_and_name_seed_role_and_step() -> None:
    result = run("simulate", TPC, "--runs", "2", "--partition", "Participant@0..60s", "--timeout", "5")
    assert result.exit_code == 1
    assert "TwoPhaseCommit: 2 runs (seeds 0..1), 0 ok, 2 failed" in result.stdout
    # Both roles time out at the same virtual instant: either may be the one reported.
    either = r"seed 0: FAILED PeerTimeout \((Participant at step 1|Coordinator at step 2)\)"
    assert re.search(either, result.stdout)

    document = json.loads(
        run(
            "simulate", TPC, "--runs", "2", "--partition", "Participant@0..60s", "--timeout", "5", "--json"
        ).stdout
    )
    assert document["ok"] is False and document["failed_runs"] == 2
    assert document["failures"][0] in (
        {
            "seed": 0,
            "error": "PeerTimeout",
            "role": "Participant",
            "step": "step 1",
            "message": "Coordinator sent nothing within 5s"
            " (expected receive PrepareRequest from Coordinator)",
        },
        {
            "seed": 0,
            "error": "PeerTimeout",
            "role": "Coordinator",
            "step": "step 2",
            "message": "Participant sent nothing within 5s"
            " (expected receive PrepareResponse from Participant)",
        },
    )


def test_a_wiped_role_restarts_from_its_journal_and_every_run_completes() -> None:
    for crash in ("ServiceA@2.5:wipe", "Coordinator@3.5..40:wipe", "ServiceB@4.5:wipe"):
        result = run("simulate", SAGA, "--runs", "30", "--crash", crash, "--json")
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert document["ok"] and document["failed_runs"] == 0
        assert document["restarts"] == 30
    text = run("simulate", SAGA, "--runs", "3", "--crash", "ServiceA@2.5:wipe")
    assert "restarts from a checkpoint (wiped roles): 3" in text.stdout


def test_crash_option_on_a_saga_compensates() -> None:
    result = run(
        "simulate", SAGA, "--crash", "ServiceB@1.5", "--timeout", "2", "--trace-out", "/dev/null", "--json"
    )
    document = json.loads(result.stdout)
    assert result.exit_code == 1
    assert document["failures"][0]["error"] == "Crashed" and document["failures"][0]["role"] == "ServiceB"
    labels = [e["label"] for e in document["trace"]]
    assert "Compensate" in labels and "ReleaseReservation" in labels


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--drop", "lots"), "--drop expects a probability"),
        (("--dup", "2"), "--dup must be between 0 and 1"),
        (("--delay", "50..5"), "ends before it starts"),
        (("--partition", "Participant"), "expected --partition"),
        (("--crash", "Participnt@5"), "unknown role `Participnt`"),
        (("--param", "N=3"), "unknown parameter `N`"),
        (("--param", "N"), "bad --param `N`"),
        (("--behaviours", "nowhere_at_all:Thing"), "cannot import nowhere_at_all"),
        (("--replay", "/nonexistent.json"), "cannot read"),
        (("--policy", "/nonexistent.toml"), "cannot read policy file"),
    ],
)
def test_bad_options_are_usage_errors_without_tracebacks(args: tuple[str, ...], message: str) -> None:
    result = run("simulate", TPC, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_missing_file_and_invalid_choreography() -> None:
    assert run("simulate", "/no/such.choreo").exit_code == 2
    bad = SEED_CORPUS / "003_AdaptiveSync.choreo"
    result = run("simulate", str(bad))
    assert result.exit_code == 1 and "error[E020]" in result.stderr


def test_params_bind_family_sizes() -> None:
    consensus = str(SEED_CORPUS / "001_ConsensusProtocol.choreo")
    result = run("simulate", consensus, "--param", "N=5", "--quiet")
    assert result.exit_code == 0
    assert "roles: Leader, Followers[0..4]" in result.stdout


def test_user_behaviours_from_a_python_file(tmp_path: Path) -> None:
    module = tmp_path / "tpc_behaviours.py"
    module.write_text(
        "class Participant:\n"
        "    def PrepareResponse(self, env):\n"
        "        return {'vote': 'Vote::Abort'}\n"
        "BEHAVIOURS = {'Participant': Participant()}\n",
        encoding="utf-8",
    )
    result = run("simulate", TPC, "--runs", "5", "--behaviours", f"{module}:BEHAVIOURS", "--json")
    assert result.exit_code == 0, result.output
    labels = [e["label"] for e in json.loads(result.stdout)["trace"]]
    assert labels == ["PrepareRequest", "PrepareResponse", "AbortRequest", "AbortAck"]
    missing = run("simulate", TPC, "--behaviours", f"{module}:NOPE")
    assert missing.exit_code == 2 and "has no `NOPE`" in missing.stderr


def test_policy_runs_the_guard_chain(tmp_path: Path) -> None:
    admin = str(SEED_CORPUS / "000_AdminOperations.choreo")
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[devices.Admin]\ncapabilities = ["admin_access", "modify_permissions", "audit_logs"]\n'
        '[devices.Moderator]\ncapabilities = ["moderate_content"]\n',
        encoding="utf-8",
    )
    result = run("simulate", admin, "--policy", str(policy), "--json")
    assert result.exit_code == 1
    failure = json.loads(result.stdout)["failures"][0]
    assert failure["error"] == "CapabilityDenied" and failure["role"] == "Moderator"
    assert "verify_users" in failure["message"]
    # Admin comes first and holds its capabilities, yet it sent nothing: the session was refused whole.
    trace = tmp_path / "trace.jsonl"
    text = run("simulate", admin, "--policy", str(policy), "--trace-out", str(trace))
    assert text.exit_code == 1 and "messages delivered: 0; frames lost: 0" in text.stdout
    assert trace.read_text(encoding="utf-8") == ""


def test_shrink_writes_a_fixture_that_replays_the_failure(tmp_path: Path) -> None:
    fixture = tmp_path / "failing.json"
    faults = ["--partition", "Coordinator@0..50", "--partition", "Participant@0..60s"]
    faults += ["--crash", "Coordinator@20..40"]
    result = run(
        "simulate", TPC, "--seed", "3", "--drop", "0.2", "--timeout", "5", *faults, "--shrink", str(fixture)
    )
    assert result.exit_code == 1
    assert "3 -> 1 fault events" in result.stderr
    saved = json.loads(fixture.read_text(encoding="utf-8"))
    assert saved["seed"] == 3 and saved["protocol"] == "TwoPhaseCommit"
    [event] = saved["events"]
    assert event["kind"] == "partition" and event["roles"] == ["Participant"]
    # shorter, but still past the last retransmission (0.2 s backoff doubling) before the 5 s timeout
    assert 3000 < event["end_ms"] - event["start_ms"] < 60_000
    assert saved["network"]["default"]["drop"] == 0.0
    replayed = run("simulate", TPC, "--replay", str(fixture), "--timeout", "5", "--json")
    assert replayed.exit_code == 1
    document = json.loads(replayed.stdout)
    assert document["runs"] == 1 and document["failures"][0]["seed"] == 3
    assert document["failures"][0]["error"] == "PeerTimeout"


def test_trace_out_then_check_trace(tmp_path: Path) -> None:
    trace = tmp_path / "run.jsonl"
    assert run("simulate", TPC, "--seed", "2", "--quiet", "--trace-out", str(trace)).exit_code == 0
    checked = run("check-trace", TPC, str(trace))
    assert checked.exit_code == 0
    assert checked.stdout.startswith("trace ok: 8 events, 1 session of TwoPhaseCommit")
    as_json = json.loads(run("check-trace", TPC, str(trace), "--json").stdout)
    assert as_json["ok"] is True and as_json["events"] == 8

    lines = trace.read_text(encoding="utf-8").splitlines()
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text("\n".join(lines[:5]) + "\n", encoding="utf-8")
    failed = run("check-trace", TPC, str(truncated))
    assert failed.exit_code == 1
    assert "trace does not follow TwoPhaseCommit" in failed.stderr
    assert run("check-trace", TPC, str(truncated), "--partial").exit_code == 0


def test_check_trace_rejects_unreadable_traces(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text('{"kind": "send", "role": "Coordinator"}\nnot json\n', encoding="utf-8")
    result = run("check-trace", TPC, str(garbage))
    assert result.exit_code == 2
    assert f"{garbage}:2:1: invalid JSON" in result.stderr
    assert run("check-trace", TPC, str(tmp_path / "absent.jsonl")).exit_code == 2
    other = tmp_path / "other.jsonl"
    other.write_text('{"kind": "send", "role": "A", "protocol": "Elsewhere"}\n', encoding="utf-8")
    wrong = run("check-trace", TPC, str(other))
    assert wrong.exit_code == 2 and "no choreography `Elsewhere`" in wrong.stderr


def test_progress_bar_advances_without_errors_when_shown(capsys: pytest.CaptureFixture[str]) -> None:
    from aura_choreo.cli.cmd_simulate import _progress

    with _progress(3, "TwoPhaseCommit", True) as advance:
        for _ in range(3):
            advance()
    with _progress(3, "hidden", False) as advance:
        advance()
    assert capsys.readouterr().out == ""


def test_exhaust_option_fails_the_sender_with_budget_exhausted() -> None:
    result = run("simulate", TPC, "--exhaust", "Participant:Coordinator@0", "--json")
    assert result.exit_code == 1
    failure = json.loads(result.stdout)["failures"][0]
    assert failure["error"] == "BudgetExhausted"
    assert (failure["role"], failure["step"]) == ("Participant", "step 2")
    unknown = run("simulate", TPC, "--exhaust", "Participant:Coordinatr@0")
    assert unknown.exit_code == 2 and "did you mean `Coordinator`" in unknown.stderr


def test_a_run_count_beyond_the_cap_is_a_usage_error_at_once() -> None:
    # Every run's result is kept for the report; a count with a few zeros too many used to build every
    # seed and result until memory ran out (hunt5). Refused before any run (the JSON form of the usage
    # error comes from the entry point: tests/hunt5/test_hunt5_cli_limits.py runs it as a process).
    result = run("simulate", TPC, "--runs", str(10**11))
    assert result.exit_code == 2
    assert "--runs" in result.output and "100000" in result.output


def test_seeds_of_a_sweep_are_consecutive_from_the_first() -> None:
    document = json.loads(run("simulate", TPC, "--runs", "3", "--seed", "40", "--json").stdout)
    assert document["runs"] == 3 and document["ok"] is True
