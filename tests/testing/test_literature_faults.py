"""Every protocol of the literature corpus simulates cleanly with faults (issue #11 item 10).

`../shared/corpus/literature/` holds protocols the developers did not write. Each must pass 20 lossy,
duplicating, delaying runs. Files that still fail because of a known, owned bug are listed in
`KNOWN_FAILURES` with the reason: the list shrinks as the fixes land, and a listed file that starts
passing fails this test (strict xfail), so the list cannot go stale. Every file passes since the
fixes of issue #11 items 4, 10 and 19 landed, so the test is part of the default suite (about 15 s).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli
from conftest import LITERATURE_CORPUS

LITERATURE = LITERATURE_CORPUS
FAULTS = ("--runs", "20", "--seed", "0", "--drop", "0.1", "--dup", "0.1", "--delay", "1..20", "--json")

# file stem -> why it still fails (the item of issue #11 that fixes it).
KNOWN_FAILURES: dict[str, str] = {}


def literature_files() -> list[Path]:
    return sorted(LITERATURE.glob("*.choreo"))


def test_the_literature_corpus_is_where_we_expect_it() -> None:
    assert len(literature_files()) == 16


def _param(path: Path) -> object:
    reason = KNOWN_FAILURES.get(path.stem)
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", [_param(p) for p in literature_files()])
def test_literature_protocol_simulates_cleanly_with_faults(path: Path) -> None:
    result = CliRunner().invoke(cli, ["simulate", str(path), *FAULTS])
    document = json.loads(result.stdout) if result.stdout.strip() else {}
    assert result.exit_code == 0, (document.get("failures") or document.get("diagnostics"), result.stderr)
    assert document["ok"] is True and document["failed_runs"] == 0
