"""`store_put` of a value outside `StoreValue` (str, int, bytes, bool, None): found by hunt6.

Production storage (`execution/storage.py`, a one-replica `StorageCoordinator`) writes a tuple or a
float without complaint, and from then on the key can be neither read nor written: every `store_get`
and `store_put` raises `QuorumNotReached` ("0 of the 1 replicas needed answered (CrdtDecodeError ...)").
Testing and simulation use `MemoryStorage`, which keeps any object, so role code that passes under
`simulate` corrupts the device's storage under `run` (SPEC §5.8: the role code is the same in every
mode). Suspects: `effects/device.py` (no check of `StoreValue` at the effect), `execution/storage.py`
/ `orchestration/storage.py` (a register is written that its own decoder refuses).
"""

from __future__ import annotations

import asyncio
import math

import pytest

from aura_choreo.effects.ops import EffectError
from aura_choreo.effects.storage import DeviceStorage, MemoryStorage
from aura_choreo.execution.storage import local_storage


async def _round_trip(storage: DeviceStorage, value: object) -> str:
    """What putting `value` then using the key again does: `refused`, or `ok` if the key still works."""
    await storage.put("k", "before")
    try:
        await storage.put("k", value)  # type: ignore[arg-type]  # what Python lets role code do
    except EffectError:
        refused = True
    else:
        refused = False
    try:
        await storage.get("k")
        await storage.put("k", "after")
        assert await storage.get("k") == "after"
    except Exception as exc:  # any failure here is the finding
        return f"key broken: {type(exc).__name__}: {exc}"
    return "refused" if refused else "ok"


@pytest.mark.parametrize("value", [(1, 2), 1.5, math.nan], ids=["tuple", "float", "nan"])
def test_a_value_outside_store_value_is_refused_or_kept_and_the_same_in_every_mode(value: object) -> None:
    production = asyncio.run(_round_trip(local_storage("dev", ":memory:"), value))
    simulation = asyncio.run(_round_trip(MemoryStorage(), value))
    assert not production.startswith("key broken"), production
    assert production == simulation
