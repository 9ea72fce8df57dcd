"""Fixtures for the runtime tests: build protocols from DSL text, run them in memory."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aura_choreo.protocol import Protocol, choreography


@pytest.fixture
def protocol() -> Callable[[str], Protocol]:
    """`protocol(text)`: a checked protocol from DSL text."""
    return choreography
