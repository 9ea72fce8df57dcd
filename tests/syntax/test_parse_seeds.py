"""Every seed choreography of the shared corpus parses with no error and keeps every statement."""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_choreo.syntax import parse_source
from conftest import seed_files

SEEDS = seed_files()


def test_the_seed_corpus_is_present() -> None:
    assert len(SEEDS) >= 36


@pytest.mark.parametrize("path", SEEDS, ids=[p.name for p in SEEDS])
def test_seed_parses_without_diagnostics(path: Path) -> None:
    result = parse_source(path.read_text(encoding="utf-8"), str(path))
    assert [d for d in result.diagnostics if d.is_error] == []
    assert len(result.file.choreographies) >= 1
    for choreography in result.file.choreographies:
        assert choreography.roles, f"{choreography.name} lost its roles"
        assert choreography.body, f"{choreography.name} lost its body"
