"""Choice checking (issue 11 item 8, SPEC §2 W103, §3.4, §3.5, §7): no misses, no over-reports."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from aura_choreo.cli.main import cli


def _validate(tmp_path: Path, text: str, *options: str) -> Result:
    path = tmp_path / "p.choreo"
    path.write_text(text)
    return CliRunner().invoke(cli, ["validate", *options, str(path)])


NEEDS_NOTIFICATION = """protocol Tell { roles: A, B, C;
  choice A { x: { A -> B: X; B -> C: Go; } y: { A -> B: Y; C -> B: Hm; } }
}
"""


def test_validate_has_strict_choice_which_makes_a_needed_notification_e080(tmp_path: Path) -> None:
    plain = _validate(tmp_path, NEEDS_NOTIFICATION)
    assert plain.exit_code == 0 and "warning[W102]" in plain.output
    strict = _validate(tmp_path, NEEDS_NOTIFICATION, "--strict-choice")
    assert strict.exit_code == 1
    assert "error[E080]" in strict.output and "role `C` cannot tell" in strict.output
    assert "W102" not in strict.output


def test_a_two_role_decided_loop_passes_strict(tmp_path: Path) -> None:
    text = "protocol Decided { roles: A, B;\n  loop (decides: A) { A -> B: Ping; B -> A: Pong }\n}\n"
    result = _validate(tmp_path, text, "--strict")
    assert result.exit_code == 0, result.output
    assert _validate(tmp_path, text, "--strict", "--strict-choice").exit_code == 0


def test_a_statement_after_a_rec_that_never_exits_is_w103(tmp_path: Path) -> None:
    text = "protocol Never { roles: A, B;\n  rec L { A -> B: Ping; continue L }\n  A -> B: Never;\n}\n"
    result = _validate(tmp_path, text)
    assert "p.choreo:3:3: warning[W103]" in result.output, result.output
    exits = "protocol Exits { roles: A, B;\n  rec L { choice A { again: { A -> B: Ping; continue L }"
    exits += " stop: { A -> B: Stop } } }\n  A -> B: After;\n}\n"
    assert "W103" not in _validate(tmp_path, exits).output


def test_a_silent_endless_rec_is_judged_alike_with_or_without_a_choice(tmp_path: Path) -> None:
    bare = _validate(
        tmp_path, "protocol R1 { roles: A, B;\n  A -> B: Hi;\n  rec X { continue X }\n}\n", "--strict"
    )
    chosen = _validate(
        tmp_path,
        "protocol R2 { roles: A, B;\n  A -> B: Hi;\n  rec X { choice A { again: { continue X } } }\n}\n",
        "--strict",
    )
    assert (bare.exit_code, chosen.exit_code) == (0, 0), chosen.output
    assert "E100" not in chosen.output and "W105" not in chosen.output


def test_one_branch_entering_an_intended_endless_loop_is_no_e103(tmp_path: Path) -> None:
    text = """protocol EndlessBranch { roles: A, B;
  choice A {
    forever: { A -> B: Forever; rec L { A -> B: Tick; continue L } }
    stop: { A -> B: Stop }
  }
}
"""
    result = _validate(tmp_path, text, "--strict")
    assert result.exit_code == 0, result.output
