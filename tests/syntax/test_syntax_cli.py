"""`aura-choreo fmt` and `aura-choreo validate` (syntax stage): exit codes, text and JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli
from conftest import seed_files

GOOD = "choreography Good {\n    roles: A, B;\n\n    A -> B: M;\n}\n"
MESSY = "choreography Good { roles: A,B\n A->B:M }"
BAD = "choreography Bad {\n    roles: A, B;\n    A -> Bee: M;\n    A -> : N;\n}\n"
WARN = "choreography Warn {\n    roles: A, B;\n    A[colour = 1] -> B: M;\n}\n"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, text in {"good": GOOD, "messy": MESSY, "bad": BAD, "warn": WARN}.items():
        out[name] = tmp_path / f"{name}.choreo"
        out[name].write_text(text)
    return out


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_validate_ok_exits_0(files: dict[str, Path]) -> None:
    code, out, _ = run("validate", str(files["good"]))
    assert code == 0
    assert "ok: 1 choreography in 1 file" in out


def test_validate_quiet_prints_nothing_on_success(files: dict[str, Path]) -> None:
    assert run("validate", "--quiet", str(files["good"])) == (0, "", "")


def test_validate_errors_exit_1_with_rendered_diagnostics(files: dict[str, Path]) -> None:
    code, _, err = run("validate", str(files["bad"]), str(files["good"]))
    assert code == 1
    assert "error[E010]: undefined role `Bee`" in err
    assert "error[E001]: expected a role name, found `:`" in err
    assert "2 errors emitted" in err


def test_validate_json_has_the_spec_shape(files: dict[str, Path]) -> None:
    code, out, _ = run("validate", "--json", str(files["bad"]), str(files["good"]))
    report = json.loads(out)
    assert code == 1
    assert report["ok"] is False
    assert [(d["code"], d["line"], d["column"]) for d in report["diagnostics"]] == [
        ("E010", 3, 10),
        ("E001", 4, 10),
    ]
    first = report["diagnostics"][0]
    assert set(first) >= {"code", "severity", "file", "line", "column", "message", "hints"}
    assert first["hints"] == ["roles in scope: `A`, `B`"]
    assert [(p["name"], p["roles"]) for p in report["protocols"]] == [
        ("Bad", ["A", "B"]),
        ("Good", ["A", "B"]),
    ]


def test_validate_strict_turns_warnings_into_errors(files: dict[str, Path]) -> None:
    assert run("validate", "--quiet", str(files["warn"]))[0] == 0
    code, out, _ = run("validate", "--strict", "--json", str(files["warn"]))
    assert code == 1
    assert [(d["code"], d["severity"]) for d in json.loads(out)["diagnostics"]] == [("W101", "error")]


def test_validate_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("validate", str(tmp_path / "nope.choreo"))
    assert code == 2
    assert "no such file" in err
    assert "Traceback" not in err
    code, out, _ = run("validate", "--json", str(tmp_path / "nope.choreo"))
    assert code == 2
    assert json.loads(out)["ok"] is False


SYNTAX_CODES = {"E001", "E002", "E010", "E011", "E013", "E060", "W101"}


def test_validate_reports_no_syntax_or_name_problem_in_any_seed() -> None:
    _, out, _ = run("validate", "--json", *map(str, seed_files()))
    report = json.loads(out)
    assert [d for d in report["diagnostics"] if d["code"] in SYNTAX_CODES] == []
    assert len(report["protocols"]) == len(seed_files())


def test_fmt_prints_the_canonical_form(files: dict[str, Path]) -> None:
    assert run("fmt", str(files["messy"]))[:2] == (0, GOOD)


def test_fmt_check_exits_1_and_names_the_file_that_would_change(files: dict[str, Path]) -> None:
    assert run("fmt", "--check", str(files["good"])) == (0, "", "")
    code, _, err = run("fmt", "--check", str(files["good"]), str(files["messy"]))
    assert code == 1
    assert err.strip() == f"would reformat {files['messy']}"
    assert files["messy"].read_text() == MESSY


def test_fmt_write_rewrites_in_place(files: dict[str, Path]) -> None:
    assert run("fmt", "--write", str(files["messy"]))[0] == 0
    assert files["messy"].read_text() == GOOD


def test_fmt_refuses_a_file_with_syntax_errors(files: dict[str, Path]) -> None:
    code, out, err = run("fmt", str(files["bad"]))
    assert code == 1
    assert out == ""
    assert "error[E001]" in err


def test_fmt_json(files: dict[str, Path]) -> None:
    code, out, _ = run("fmt", "--check", "--json", str(files["messy"]))
    report = json.loads(out)
    assert code == 1
    assert report["ok"] is False
    assert report["files"][0]["changed"] is True
    assert report["files"][0]["formatted"] == GOOD


def test_fmt_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    assert run("fmt", str(tmp_path / "nope.choreo"))[0] == 2
    code, out, _ = run("fmt", "--json", str(tmp_path / "nope.choreo"))
    assert (code, json.loads(out)["ok"]) == (2, False)


def test_validate_through_the_installed_entry_point(files: dict[str, Path]) -> None:
    exe = Path(sys.executable).parent / "aura-choreo"
    done = subprocess.run([str(exe), "validate", "--json", str(files["bad"])], capture_output=True, text=True)
    assert done.returncode == 1
    assert [d["code"] for d in json.loads(done.stdout)["diagnostics"]] == ["E010", "E001"]


def test_fmt_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "commented.choreo"
    path.write_text("// top\nchoreography C { roles: A, B\n A -> B: M // why\n}\n")
    code, out, _ = run("fmt", str(path))
    assert code == 0
    assert out == "// top\nchoreography C {\n    roles: A, B;\n\n    A -> B: M;  // why\n}\n"
