"""A policy whose `journal` path holds a NUL character, found by hunt7.

TOML lets a string carry `\\u0000`. `simulate FILE --policy P --json` with `journal = "a\\u0000b"` ends in
"internal error: ValueError: embedded null byte ... report it", exit 1, and nothing on stdout (no §7
document). The other unusable journal paths (a directory, a text file: tests/hunt5) are a usage error
naming the journal since `JournalStore.__init__` (journal/store.py) turns OSError and sqlite3.Error
into `JournalError`; `Path.mkdir` and `sqlite3.connect` raise ValueError for a NUL, which it did not
catch (fixed in journal/store.py, `JournalStore.__init__`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aura_choreo.cli.main import main

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"


def test_a_nul_in_the_journal_path_is_a_usage_error_in_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('journal = "a\\u0000b"\n', encoding="utf-8")
    with pytest.raises(SystemExit) as ended:
        main(["simulate", str(TPC), "--policy", str(policy), "--json", "--quiet"])
    captured = capsys.readouterr()
    assert "internal error" not in captured.err, captured.err
    assert ended.value.code in (1, 2)
    document = json.loads(captured.out)
    assert document["ok"] is False and "journal" in json.dumps(document)
