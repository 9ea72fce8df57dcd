"""`aura-choreo project` and the projection stage of `aura-choreo validate`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli
from conftest import SEED_CORPUS

Golden = Callable[[str, str], None]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def seed(name: str) -> str:
    return str(Path(SEED_CORPUS) / f"{name}.choreo")


def test_project_prints_every_role_as_text(golden: Golden) -> None:
    code, out, err = run("project", seed("003_TwoPhaseCommit"))
    assert code == 0 and err == ""
    assert "Participant ! PrepareRequest(transaction_id: u64)" in out
    golden("cli_two_phase_commit.txt", out)


def test_project_one_family_instance_with_a_parameter() -> None:
    code, out, err = run("project", seed("001_ConsensusProtocol"), "--role", "Followers[1]", "--param", "N=2")
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "Followers[1] in ConsensusProtocol:",
        "  Leader ? Proposal",
        "  Leader ! Vote",
        "  end",
    ]


def test_default_binding_is_announced_on_stderr() -> None:
    code, _, err = run("project", seed("001_ConsensusProtocol"), "--role", "Leader")
    assert code == 0 and "info[I001]" in err and "using 3" in err


def test_project_json_for_one_role_is_an_object_and_for_all_a_list() -> None:
    code, out, _ = run("project", seed("001_Negotiation"), "--role", "Buyer", "--format", "json")
    document = json.loads(out)
    assert code == 0 and document["protocol"] == "Negotiation" and document["role"] == "Buyer"
    assert [step["op"] for step in document["type"]] == ["send", "offer"]
    code, out, _ = run("project", seed("001_Negotiation"), "--json")
    assert code == 0 and [d["role"] for d in json.loads(out)] == ["Buyer", "Seller"]


def test_unknown_role_is_a_usage_error_with_a_suggestion() -> None:
    code, out, err = run("project", seed("001_Negotiation"), "--role", "Seler")
    assert code == 2 and out == ""
    assert "unknown role `Seler`" in err and "did you mean `Seller`?" in err


@pytest.mark.parametrize("param", ["N", "N=x", "=3", "N=-1"])
def test_malformed_param_is_a_usage_error(param: str) -> None:
    code, _, err = run("project", seed("001_ConsensusProtocol"), "--param", param)
    assert code == 2 and "bad --param" in err


def test_unknown_param_is_a_usage_error() -> None:
    code, _, err = run("project", seed("001_ConsensusProtocol"), "--param", "M=2")
    assert code == 2 and "unknown parameter `M`" in err and "parameters: N" in err
    code, _, err = run("project", seed("001_ThresholdProtocol"), "--param", "treshold=2")
    assert code == 2 and "did you mean `threshold`?" in err


def test_strict_choice_turns_the_notification_into_e080(tmp_path: Path) -> None:
    path = tmp_path / "tell.choreo"
    path.write_text(
        "protocol Tell { roles: A, B, C;\n"
        "  choice A { x: { A -> B: X; B -> C: Go; } y: { A -> B: Y; C -> B: Hm; } }\n}\n"
    )
    assert run("project", str(path))[0] == 0
    code, out, err = run("project", str(path), "--strict-choice")
    assert code == 1 and out == ""
    assert "error[E080]" in err and "`A -> C: x;` first in branch `x`" in err


def test_a_decided_loop_tells_its_peer_without_e080_or_w102() -> None:
    # issue 11 item 8: the loop's continue/stop is its own message; a hint to edit the `stop` branch
    # could not be applied
    for extra in ((), ("--strict-choice",)):
        code, out, err = run("project", seed("001_DecisionLoop"), *extra)
        assert code == 0 and "E080" not in err and "W102" not in err
        assert "continue" in out


def test_a_protocol_with_errors_exits_1_with_diagnostics() -> None:
    code, out, err = run("project", seed("003_SecureDataTransfer"))
    assert code == 1 and out == ""
    assert "error[E020]: undefined sub-protocol `Authentication`" in err
    code, out, _ = run("project", seed("003_SecureDataTransfer"), "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    assert {d["code"] for d in report["diagnostics"]} == {"E020"}


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("project", str(tmp_path / "nope.choreo"))
    assert code == 2 and "no such file" in err


def test_dot_and_mermaid_come_from_the_verifier() -> None:
    pytest.importorskip("aura_choreo.verify.export")
    code, out, _ = run("project", seed("001_Negotiation"), "--role", "Seller", "--format", "dot")
    assert code == 0 and out.lstrip().startswith("digraph")
    code, out, _ = run("project", seed("001_Negotiation"), "--role", "Seller", "--format", "mermaid")
    assert code == 0 and "stateDiagram" in out


def test_validate_reports_concrete_roles_and_params() -> None:
    code, out, _ = run("validate", "--json", seed("001_ThresholdProtocol"), "--param", "Signers=4")
    report = json.loads(out)
    assert code == 0
    [protocol] = report["protocols"]
    assert protocol["roles"] == ["Coordinator", "Signers[0]", "Signers[1]", "Signers[2]", "Signers[3]"]
    assert protocol["params"] == {"Signers": 4, "threshold": 3}
    assert [d["code"] for d in report["diagnostics"]] == ["I001"]


def test_validate_finds_a_range_that_the_binding_makes_too_long() -> None:
    code, out, _ = run("validate", "--json", seed("001_ThresholdProtocol"), "--param", "Signers=2")
    assert code == 1
    assert "E013" in [d["code"] for d in json.loads(out)["diagnostics"]]


def test_validate_reports_semantic_errors_and_warnings_of_the_seeds() -> None:
    paths = [seed("003_AdaptiveSync"), seed("001_DecisionLoop"), seed("003_TwoPhaseCommit")]
    code, out, _ = run("validate", "--json", *paths)
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    codes = [(Path(d["file"]).name, d["code"]) for d in report["diagnostics"]]
    # a decided loop's continue/stop is its own message: no W102 (issue 11 item 8)
    assert codes == [("003_AdaptiveSync.choreo", "E020")] * 3


def test_validate_treats_each_file_as_its_own_load(tmp_path: Path) -> None:
    code, out, _ = run("validate", "--json", seed("001_ConsensusProtocol"), seed("001_ConsensusProtocol_2"))
    assert code == 0 and "E090" not in [d["code"] for d in json.loads(out)["diagnostics"]]
    (tmp_path / "a.choreo").write_text('import "b.choreo"\nchoreography Same { roles: A, B\n A -> B: X }\n')
    (tmp_path / "b.choreo").write_text("choreography Same { roles: A, B\n A -> B: Y }\n")
    code, out, _ = run("validate", "--json", str(tmp_path / "a.choreo"))
    e090 = [d for d in json.loads(out)["diagnostics"] if d["code"] == "E090"]
    assert code == 1 and len(e090) == 1 and e090[0]["file"].endswith("a.choreo")
