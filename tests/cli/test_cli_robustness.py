"""End-to-end: what a first-time user feeding the CLI hostile input gets back.

Every answer is a diagnostic or a usage error with the right exit code: never a traceback, never a
hang, never garbage on the terminal. A few cases run the installed entry point as a subprocess; the
rest use click's CliRunner through `main` (the same last-line-of-defence wrapper).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aura_choreo.cli.main import cli

PAIR = "choreography P {\n  roles: A, B\n  A -> B: M\n}\n"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run_process(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aura_choreo", *args], capture_output=True, text=True, timeout=120
    )


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return str(path)


def codes(output: str) -> list[str]:
    return [line.split("error[")[1].split("]")[0] for line in output.splitlines() if ": error[" in line]


# ------------------------------------------------------------------ sizes beyond the limits


def test_a_family_of_ten_thousand_is_a_clean_error_not_a_hang(tmp_path: Path) -> None:
    path = write(tmp_path, "fam.choreo", "choreography Fam {\n  roles: L, R[N]\n  R[i] -> L: Vote\n}\n")
    result = run("validate", "--param", "N=10000", path)
    assert result.exit_code == 1
    assert codes(result.output) == ["E014"]
    assert "10001 roles" in result.output
    assert "--param N=100" in result.output


def test_a_literal_family_past_the_limit_is_e014(tmp_path: Path) -> None:
    path = write(tmp_path, "fam.choreo", "choreography Fam {\n  roles: L, R[100000]\n  R[0] -> L: Vote\n}\n")
    result = run("project", path)
    assert result.exit_code == 1
    assert "error[E014]: family `R` has 100000 instances, more than the limit of 10000" in result.output


def test_a_huge_integer_literal_is_a_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "big.choreo", "choreography H {\n  roles: A, R[" + "9" * 5000 + "]\n}\n")
    process = run_process("validate", path)
    assert process.returncode == 1
    assert "Traceback" not in process.stderr and "internal error" not in process.stderr
    assert "error[E001]: an integer literal of 5000 digits is too long" in process.stderr


def test_a_long_token_is_shortened_in_the_message(tmp_path: Path) -> None:
    text = "choreography T {\n  roles: A, B\n  timeout " + "9" * 400 + "s at A {}\n}\n"
    path = write(tmp_path, "t.choreo", text)
    result = run("validate", path)
    message = next(line for line in result.output.splitlines() if "error[E001]" in line)
    assert message.endswith("found duration `999999999999999999999999999999999999...`")


def test_ten_thousand_nested_blocks_give_one_error(tmp_path: Path) -> None:
    depth = 10_000
    text = "choreography D {\n  roles: A, B\n" + "loop {\n" * depth + "A -> B: M\n" + "}\n" * depth + "}\n"
    path = write(tmp_path, "deep.choreo", text)
    result = run("validate", path)
    assert result.exit_code == 1
    assert codes(result.output) == ["E001"]
    assert "blocks are nested more than 60 levels deep" in result.output


def test_an_empty_family_names_no_instance_range(tmp_path: Path) -> None:
    path = write(tmp_path, "e.choreo", "choreography E {\n  roles: A, R[0]\n  A -> R[0]: M\n}\n")
    result = run("validate", path)
    assert "`R[0]` has no instances" in result.output
    assert "0 to -1" not in result.output


# ------------------------------------------------------------------ files that are not text


def test_a_binary_file_is_one_error_with_no_garbage(tmp_path: Path) -> None:
    path = tmp_path / "bin.choreo"
    path.write_bytes(bytes(range(256)) * 8)
    for command in ("validate", "fmt", "project"):
        result = run(command, str(path))
        assert result.exit_code == 1, command
        assert codes(result.output) == ["E001"], command
        assert "is not a text file" in result.output
        assert "\x00" not in result.output and "\x1b" not in result.output


def test_invalid_utf8_points_at_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin.choreo"
    path.write_bytes(b"choreography P {\n  roles: A, B\n  A -> B: M\xff\n}\n")
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert codes(result.output) == ["E001"]
    assert "latin.choreo:3:12: error[E001]: the file is not valid UTF-8 (byte 0xff)" in result.output


def test_fmt_write_never_replaces_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.choreo"
    original = PAIR.encode() + b"// caf\xe9\n"
    path.write_bytes(original)
    result = run("fmt", "-w", str(path))
    assert result.exit_code == 1
    assert "not valid UTF-8" in result.output
    assert path.read_bytes() == original


# ------------------------------------------------------------------ --json answers on every failure


def test_a_directory_under_json_is_a_json_usage_error(tmp_path: Path) -> None:
    process = run_process("project", "--json", str(tmp_path))
    assert process.returncode == 2
    answer = json.loads(process.stdout)
    assert answer["ok"] is False and "is a directory" in answer["error"]
    assert "Traceback" not in process.stderr


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("project", "--format", "json", "{missing}"), "no such file"),
        (("project", "--json", "--role", "Z", "{pair}"), "unknown role `Z`"),
        (("project", "--json", "--param", "N=abc", "{pair}"), "bad --param `N=abc`"),
        (("validate", "--json", "--param", "=3", "{pair}"), "bad --param `=3`"),
        (("subtype", "--json", "--against", "{pair}", "--role", "A", "{missing}"), "no such file"),
    ],
)
def test_usage_errors_under_json_answer_in_json(tmp_path: Path, args: tuple[str, ...], error: str) -> None:
    paths = {"pair": write(tmp_path, "pair.choreo", PAIR), "missing": str(tmp_path / "absent.choreo")}
    result = run(*(a.format(**paths) for a in args))
    assert result.exit_code == 2
    answer = json.loads(result.stdout)
    assert answer["ok"] is False
    assert error in answer["error"]


def test_a_failed_load_under_simulate_json_answers_in_json(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.choreo", "choreography P {\n  roles: A, B\n  A -> C: M\n}\n")
    result = run("simulate", "--json", path)
    assert result.exit_code == 1
    answer = json.loads(result.stdout)
    assert answer["ok"] is False
    assert [d["code"] for d in answer["diagnostics"]] == ["E010"]


# ------------------------------------------------------------------ --role hints


def test_a_family_instance_out_of_range_names_the_range_and_the_parameter(tmp_path: Path) -> None:
    path = write(tmp_path, "f.choreo", "choreography F {\n  roles: L, R[N]\n  R[i] -> L: Vote\n}\n")
    result = run("project", "--role", "R[7]", path)
    assert result.exit_code == 2
    assert "`R` has instances 0 to 2 here; bind a larger size with `--param N=K`" in result.output
    assert run("project", "--role", "R[7]", "--param", "N=8", path).exit_code == 0


def test_an_unknown_role_lists_families_compactly(tmp_path: Path) -> None:
    path = write(tmp_path, "f.choreo", "choreography F {\n  roles: L, R[500]\n  R[i] -> L: Vote\n}\n")
    result = run("project", "--role", "Q", path)
    assert result.exit_code == 2
    assert "help: roles: L, R[0..499]" in result.output


# ------------------------------------------------------------------ common mistakes get a fix hint


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "  choice {\n    a: { A -> B: X }\n  }\n",
            "help: a choice names its decider: `choice Client { ... }` or `choice at Client { ... }`",
        ),
        (
            "  #[flow_cost = 5]\n  A -> B: X\n",
            "help: annotate a statement with `[@key = value]` or `@key`; `#[...]` goes before a choreography",
        ),
        ("  rec L {\n    A -> B: X\n    continue M\n  }\n", "help: the enclosing `rec` labels: `L`"),
        (
            "  call Foo(A, B)\n",
            "help: define it in this choreography with `protocol Foo(X, Y) { ... }`, or import the file that"
            " declares `choreography Foo`",
        ),
    ],
)
def test_common_mistakes_get_a_fix_hint(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, "m.choreo", "choreography P {\n  roles: A, B\n" + body + "}\n")
    result = run("validate", path)
    assert result.exit_code == 1
    assert expected in result.output


def test_a_top_level_protocol_with_role_parameters_says_where_it_belongs(tmp_path: Path) -> None:
    path = write(tmp_path, "m.choreo", "protocol Sub(X, Y) {\n  X -> Y: Ping\n}\n")
    result = run("validate", path)
    assert result.exit_code == 1
    assert "help: at top level write `choreography Sub { roles: X, Y; ... }`" in result.output


def test_a_guard_variable_close_to_a_payload_field_gets_a_did_you_mean(tmp_path: Path) -> None:
    body = (
        "  A -> B: Quote(price: u64)\n"
        "  choice B {\n    buy when (prize > 10): { B -> A: Buy }\n    no: { B -> A: No }\n  }\n"
    )
    path = write(tmp_path, "g.choreo", "choreography P {\n  roles: A, B\n" + body + "}\n")
    result = run("validate", path)
    assert result.exit_code == 0  # the behaviour may supply `prize`: only a note
    assert "info[I002]: `prize` in the guard of branch `buy` is no payload field" in result.output
    assert "help: did you mean `price`?" in result.output


def test_project_of_a_file_without_choreographies_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.choreo", "// nothing here yet\n")
    result = run("project", path)
    assert result.exit_code == 1
    assert "declares no choreography" in result.output
    assert json.loads(run("project", "--json", path).stdout)["ok"] is False


def test_validate_refuses_a_param_no_protocol_has(tmp_path: Path) -> None:
    path = write(tmp_path, "f.choreo", "choreography F {\n  roles: L, R[N]\n  R[i] -> L: Vote\n}\n")
    result = run("validate", "--param", "n=4", path)
    assert result.exit_code == 2
    assert "unknown parameter `n`" in result.output and "did you mean `N`?" in result.output
    assert run("validate", "--param", "N=4", path).exit_code == 0


@pytest.mark.parametrize(
    "expression", ["!" * 10_000 + "x", " + ".join(["x"] * 20_000), "(" * 10_000 + "x" + ")" * 10_000]
)
def test_a_very_deep_expression_is_one_syntax_error(tmp_path: Path, expression: str) -> None:
    text = "choreography E {\n  roles: A, B\n  if " + expression + " { A -> B: M }\n}\n"
    path = write(tmp_path, "e.choreo", text)
    for command in ("validate", "fmt", "project"):
        result = run(command, path)
        assert result.exit_code == 1, command
        assert codes(result.output) == ["E001"], command


def test_subtype_names_the_bad_byte_of_a_machine_file(tmp_path: Path) -> None:
    machine = tmp_path / "m.dot"
    machine.write_bytes(b'digraph A {\n  s0 -> s1 [label="B!M\xff"]\n}\n')
    result = run("subtype", "--against", write(tmp_path, "p.choreo", PAIR), "--role", "A", str(machine))
    assert result.exit_code == 2
    assert "error: `" in result.output and "m.dot` is not UTF-8 text (byte 0xff)" in result.output
    assert "codec" not in result.output


def test_validate_counts_a_file_given_twice_once(tmp_path: Path) -> None:
    path = write(tmp_path, "p.choreo", PAIR)
    (tmp_path / "sub").mkdir()
    result = run("validate", path, os.path.relpath(path), str(tmp_path / "sub" / ".." / "p.choreo"))
    assert result.exit_code == 0
    assert "ok: 1 choreography in 1 file" in result.output
