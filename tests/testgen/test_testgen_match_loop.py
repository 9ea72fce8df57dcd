"""`test-gen`'s example payloads draw a field a `match` reads from all its arms.

Was: such a field got one fixed value. In recursive_dns it was `AnswerKind::Cname`, the arm that
continues the `rec Chase` loop, so once the forced `cache_miss` branch entered the loop it never left,
and the generated tests of `cache_miss` and of `Cname` failed with a PeerTimeout after 30,000 messages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_choreo.docs import load_files
from aura_choreo.testgen import write_suite
from conftest import LITERATURE_CORPUS, generated_tests

RECURSIVE_DNS = LITERATURE_CORPUS / "recursive_dns.choreo"


def _suite(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    loaded = load_files([str(RECURSIVE_DNS)])
    assert loaded.ok
    write_suite(loaded.protocols, [str(RECURSIVE_DNS)], tmp_path / "suite")
    (path,) = (tmp_path / "suite").glob("test_*.py")
    return tmp_path / "suite", generated_tests(path, "fix12_dns")


@pytest.mark.timeout(120)
def test_the_branches_into_a_loop_a_match_ends_pass_as_generated(tmp_path: Path) -> None:
    suite, tests = _suite(tmp_path)
    behaviours = (suite / "behaviours.py").read_text(encoding="utf-8")
    arms = "['AnswerKind::Cname', 'AnswerKind::Answer', 'AnswerKind::NxDomain']"
    assert f"'kind': self.coin.choice({arms})" in behaviours
    for name in ("test_branch_cache_hit_or_cache_miss_cache_miss", "test_branch_kind_cname"):
        tests[name]()  # type: ignore[operator]
