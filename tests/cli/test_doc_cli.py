"""`aura-choreo doc` from the command line: which files and which trace a report takes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from aura_choreo.cli.main import cli
from conftest import SEED_CORPUS

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"
CONSENSUS = SEED_CORPUS / "001_ConsensusProtocol.choreo"


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def _tpc_trace(tmp_path: Path) -> Path:
    trace = tmp_path / "tpc.jsonl"
    assert run("simulate", str(TPC), "--trace-out", str(trace), "--quiet").exit_code == 0
    return trace


def test_doc_refuses_a_trace_of_another_protocol(tmp_path: Path) -> None:
    trace = _tpc_trace(tmp_path)
    out = tmp_path / "out.html"
    result = run("doc", str(CONSENSUS), "--trace", str(trace), "-o", str(out), "--param", "N=3")
    assert result.exit_code == 2, result.output
    assert "TwoPhaseCommit" in result.stderr and "ConsensusProtocol" in result.stderr
    assert str(trace) in result.stderr
    assert not out.exists()


def test_doc_draws_a_trace_of_a_documented_protocol(tmp_path: Path) -> None:
    trace = _tpc_trace(tmp_path)
    out = tmp_path / "out.html"
    result = run("doc", str(TPC), str(CONSENSUS), "--trace", str(trace), "-o", str(out), "--param", "N=3")
    assert result.exit_code == 0, result.output
    assert out.is_file()


def test_doc_documents_a_file_given_twice_once(tmp_path: Path) -> None:
    out = tmp_path / "out.html"
    again = TPC.parent / ".." / TPC.parent.name / TPC.name  # the same file, spelled differently
    result = run("doc", str(TPC), str(again), str(TPC), "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["protocols"] == ["TwoPhaseCommit"]
    assert out.read_text(encoding="utf-8").count('id="p-TwoPhaseCommit"') == 1
