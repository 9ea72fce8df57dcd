"""Every command's output path is checked before any work: one that cannot be written is a usage
error (exit 2) naming the path, and `--json` still answers with one document (SPEC §7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aura_choreo.cli.main import main

TPC = str(Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo")

# (arguments, where the output goes): `{out}` is replaced by an unwritable path.
COMMANDS = [
    ["keygen", "dev-a", "-o", "{out}"],
    ["compile", TPC, "-o", "{out}"],
    ["test-gen", TPC, "-o", "{out}"],
    ["doc", TPC, "-o", "{out}"],
    ["doc", TPC, "-o", "{out}/page.html"],
    ["simulate", TPC, "--runs", "1", "--trace-out", "{out}/t.jsonl"],
    ["simulate", TPC, "--runs", "1", "--shrink", "{out}/s.json"],
]


@pytest.mark.parametrize("below", [False, True], ids=["a-file", "below-a-file"])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(x for x in a if x != TPC))
def test_an_output_path_at_or_below_a_file_is_a_usage_error_naming_it(
    tmp_path: Path, args: list[str], below: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    plain.write_text("a regular file\n", encoding="utf-8")
    out = str(plain / "sub") if below else str(plain)
    with pytest.raises(SystemExit) as ended:
        main([a.replace("{out}", out) for a in args] + ["--json"])
    captured = capsys.readouterr()
    assert "internal error" not in captured.err, captured.err
    assert ended.value.code == 2
    answer = json.loads(captured.out)
    assert answer["ok"] is False and str(plain) in answer["error"]


@pytest.mark.parametrize("option", ["--trace-out", "--shrink"])
def test_simulate_output_file_that_is_a_directory_fails_before_running(
    tmp_path: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["simulate", TPC, option, str(tmp_path), "--json"])
    captured = capsys.readouterr()
    assert ended.value.code == 2
    assert json.loads(captured.out) == {  # simulate's report (SPEC §7), as every usage error under --json
        "ok": False,
        "runs": 0,
        "failed_runs": 0,
        "failures": [],
        "trace": [],
        "error": f"cannot write `{tmp_path}`: it is a directory",
        "hints": [],
    }


@pytest.mark.parametrize(
    ("option", "extra"),
    [("--trace-out", ()), ("--shrink", ("--crash", "Participant@1", "--timeout", "2"))],
)
def test_simulate_creates_the_missing_folders_of_its_output_files(
    tmp_path: Path, option: str, extra: tuple[str, ...]
) -> None:
    out = tmp_path / "new" / "deeper" / "out.json"
    with pytest.raises(SystemExit) as ended:
        main(["simulate", TPC, "--runs", "1", option, str(out), "--quiet", *extra])
    assert ended.value.code in (0, 1)  # the crash fails the run; --shrink writes its fixture then
    assert out.is_file()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc: a folder no one can create")
@pytest.mark.parametrize("args", COMMANDS[:5], ids=lambda a: " ".join(x for x in a if x != TPC))
def test_an_output_folder_that_cannot_be_made_is_a_usage_error_naming_it(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = "/proc/aura-choreo-nope"  # passes the up-front checks (root may write /proc), mkdir fails
    with pytest.raises(SystemExit) as ended:
        main([a.replace("{out}", out) for a in args] + ["--json"])
    captured = capsys.readouterr()
    assert "internal error" not in captured.err, captured.err
    assert ended.value.code == 2, captured.err
    answer = json.loads(captured.out)
    assert answer["ok"] is False and out in answer["error"]
