"""Fixtures of the codegen tests (the work is in `codegen_fixtures`, importable by the tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from codegen_fixtures import Generated, generate_everything, importable


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """Every seed, example and test protocol compiled, and `mypy --strict` run once over all of it."""
    return generate_everything(tmp_path_factory)


@pytest.fixture
def typing_packages(generated: Generated) -> Iterator[Path]:
    """The generated two_phase_commit and poll packages and the typing programs, importable."""
    yield from importable(generated)
