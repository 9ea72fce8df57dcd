"""Smaller language points of issue 11 (items 5 and 20): integer match patterns, `break` placement,
duplicate payload fields, `@optimize(...)`, and a partial model check."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from aura_choreo.cli.main import cli
from aura_choreo.protocol import choreography

TPC = str(Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo")


def _validate(tmp_path: Path, text: str, *options: str) -> Result:
    path = tmp_path / "p.choreo"
    path.write_text(text)
    return CliRunner().invoke(cli, ["validate", *options, str(path)])


def test_integer_patterns_in_match_parse_and_project(tmp_path: Path) -> None:
    text = """protocol M { roles: A, B;
  A -> B: Code(n: i32);
  match n { 0 => { B -> A: Zero } -1 => { B -> A: Minus } _ => { B -> A: Other } }
}
"""
    assert _validate(tmp_path, text, "--strict").exit_code == 0
    (step,) = [s for s in choreography(text).local_types()["B"].steps if type(s).__name__ == "If"]
    assert [b.label for b in step.branches] == ["case_0", "case_minus_1", "_"]  # type: ignore[attr-defined]
    assert step.patterns == ("0", "-1", "_")  # type: ignore[attr-defined]


def test_break_directly_in_a_loop_body_is_e050(tmp_path: Path) -> None:
    result = _validate(tmp_path, "protocol Br { roles: A, B;\n  loop { A -> B: Ping; break; }\n}\n")
    assert result.exit_code == 1
    assert "p.choreo:2:24: error[E050]" in result.output, result.output


def test_duplicate_payload_field_names_are_an_error(tmp_path: Path) -> None:
    result = _validate(tmp_path, "protocol Dup { roles: A, B;\n  A -> B: Pair(x: u32, x: u32);\n}\n")
    assert result.exit_code == 1
    assert "duplicate payload field `x`" in result.output, result.output


def test_the_specs_optimize_annotation_is_no_w101(tmp_path: Path) -> None:
    text = "protocol Opt { roles: A, B;\n  @optimize(inline, n = 3)\n  A -> B: Ping;\n}\n"
    result = _validate(tmp_path, text)
    assert result.exit_code == 0 and "W101" not in result.output, result.output


def test_a_model_check_stopped_at_max_states_does_not_say_ok() -> None:
    result = CliRunner().invoke(cli, ["validate", "--max-states", "5", TPC])
    assert result.exit_code == 0 and "W107" in result.output
    assert "ok:" not in result.output and "partial" in result.output.splitlines()[-1]
    strict = CliRunner().invoke(cli, ["validate", "--strict", "--max-states", "5", TPC])
    assert strict.exit_code == 1


def test_w104_is_reported_once_per_statement_not_per_family_instance(tmp_path: Path) -> None:
    text = """protocol Fan { roles: C, S[4];
  C -> S[*]: Req;
  timeout(1s) { S[*] -> C: Resp; } or { C: give_up(); }
}
"""
    result = _validate(tmp_path, text)
    assert result.output.count("warning[W104]") == 1, result.output
    assert "S[0]" in result.output and "S[3]" in result.output


def test_e032_after_a_timeout_says_the_value_is_unknown_when_the_deadline_fired(tmp_path: Path) -> None:
    text = """protocol T { roles: A, B, C;
  A -> B: Start;
  timeout(1s) { A -> B: Value(x: u32); } or { B: give_up(); }
  if x > 3 { C -> A: Big; } else { B -> C: Small; }
}
"""
    result = _validate(tmp_path, text)
    assert "error[E032]" in result.output, result.output
    assert "timeout at line 3" in result.output, result.output
