"""A policy whose `journal` path cannot hold a journal, found by hunt5 (xfail until fixed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_choreo.cli.main import main

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"


# `simulate FILE --policy P` with `journal = "<a directory>"`, `"<a text file>"` or
# `"<a text file>/j.db"` ends in "internal error: OperationalError: unable to open database file",
# "DatabaseError: file is not a database" or "FileExistsError" (... report it), exit 1; `validate
# --policy P` says ok. The policy reader names the file and key of every other bad value, exit 2
# ("error: P: defaults.flow_limit: ...", `guards/policy_file.py`); the journal path is only opened
# by sqlite3 (`journal/`) at run time.
@pytest.mark.parametrize(
    "journal", ["", "plain", "plain/j.db"], ids=["a-directory", "a-text-file", "below-a-file"]
)
def test_an_unusable_journal_path_is_a_usage_error(
    tmp_path: Path, journal: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plain").write_text("not a database\n", encoding="utf-8")
    policy = tmp_path / "policy.toml"
    path = str(tmp_path / journal).replace("\\", "/")
    policy.write_text(
        f'journal = "{path}"\n[roles]\nCoordinator = "dev-c"\nParticipant = "dev-p"\n', encoding="utf-8"
    )
    with pytest.raises(SystemExit) as ended:
        main(["simulate", str(TPC), "--policy", str(policy), "--quiet"])
    captured = capsys.readouterr()
    assert "internal error" not in captured.err, captured.err
    assert ended.value.code == 2
    assert "journal" in captured.err
