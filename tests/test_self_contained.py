"""Tests read nothing outside the repository but the shared corpora, and find those only through
conftest's `SHARED` (which `$AURA_CHOREO_SHARED` can point elsewhere)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_only_conftest_spells_out_where_the_shared_corpora_are() -> None:
    spelled = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != "conftest.py" and path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if '"shared"' in line
    ]
    assert spelled == [], "use conftest's SHARED / SEED_CORPUS / LITERATURE_CORPUS: " + ", ".join(spelled)
