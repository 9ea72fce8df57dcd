"""`doc a.choreo b.choreo` where both files define a choreography `Ping` (legal: each file is its own
load, so E090 does not apply across them). The report gave both sections the ids `p-Ping`,
`p-Ping-sequence`, `p-Ping-roles`, so the table of contents led to the first one twice (fix8's
note). Every id is unique now, every in-page link has its target, and the contents tell them apart."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from aura_choreo.cli.main import cli

PING = "choreography Ping {\n  roles: A, B\n  A -> B: Hi\n}\n"
PING3 = "choreography Ping {\n  roles: A, B, C\n  A -> B: Hi\n  B -> C: Ho\n}\n"


def _report(tmp_path: Path, *texts: str) -> str:
    files = []
    for i, text in enumerate(texts):
        path = tmp_path / f"f{i}.choreo"
        path.write_text(text, encoding="utf-8")
        files.append(str(path))
    out = tmp_path / "out.html"
    result = CliRunner().invoke(cli, ["doc", *files, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_two_files_defining_one_name_give_unique_ids_and_working_links(tmp_path: Path) -> None:
    html = _report(tmp_path, PING, PING3, PING)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert all(target in ids for target in re.findall(r'href="#([^"]+)"', html))
    sections = re.findall(r'<section class="protocol" id="([^"]+)"', html)
    assert len(sections) == 3 and len(set(sections)) == 3
    assert sections[0] == "p-Ping"  # a name that occurs once (or first) keeps its anchor


def test_the_contents_name_the_file_of_each_duplicate(tmp_path: Path) -> None:
    html = _report(tmp_path, PING, PING3)
    assert "Ping (f0.choreo)" in html and "Ping (f1.choreo)" in html
