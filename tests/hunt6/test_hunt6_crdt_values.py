"""CRDT operations accept values their own byte format refuses: found by hunt6.

SPEC §8.1: every CRDT has `to_bytes()`/`from_bytes()` in a documented format, and the coordinators
ship those bytes. `ORSet.add` takes a float element, `LWWRegister.assign` a float timestamp and
`GCounter.increment` an int replica id; `to_bytes()` writes them, but `from_bytes()` (the peer's side
of every sync) raises `CrdtDecodeError`, so the replica can never be synced again: every
`sync_with` fails on the peer. Each operation should refuse what the format cannot carry (or the
format should carry it). Suspects: `orchestration/crdt/sets.py`, `registers.py`, `counters.py` (the
operations) against `crdt/codec.py` (what decodes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aura_choreo.orchestration.crdt import CrdtDecodeError, GCounter, LWWRegister, ORSet

OPERATIONS: dict[str, Callable[[], tuple[Any, Any]]] = {
    "orset-float-element": lambda: ORSet().add("a", 1.5),  # type: ignore[arg-type]
    "lww-float-timestamp": lambda: LWWRegister().assign("a", "x", 1.5),  # type: ignore[arg-type]
    "gcounter-int-replica": lambda: GCounter().increment(5, 1),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_what_an_operation_accepts_survives_its_byte_format(name: str) -> None:
    try:
        value, delta = OPERATIONS[name]()
    except (TypeError, ValueError):
        return  # refused up front: fixed
    for state in (value, delta):
        try:
            decoded = type(state).from_bytes(state.to_bytes())
        except CrdtDecodeError as exc:
            raise AssertionError(f"{name}: written but not readable: {exc}") from exc
        assert decoded == state
