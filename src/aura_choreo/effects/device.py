"""The bottom of the role-effect handler stack: performs each effect on the device's resources.

Time is the running event loop's (`loop.time()`, `asyncio.sleep`), so under the simulator's
virtual-time loop a `sleep(3600)` jumps the clock instead of waiting. Randomness comes from the
`random.Random` the stack gives this endpoint: seeded per session and role in testing and simulation,
`random.SystemRandom` (OS entropy) in production.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aura_choreo.effects.ops import (
    Effect,
    EffectError,
    JournalFacts,
    Now,
    Random,
    Sign,
    Sleep,
    StoreGet,
    StorePut,
    Verify,
    require_sleep_seconds,
)
from aura_choreo.effects.storage import DeviceStorage, FactSource, MemoryStorage, NoFacts, matching
from aura_choreo.transports.net.identity import Identity, verify_signature


@dataclass(frozen=True)
class DeviceResources:
    """What one device's role effects act on; shared by every session the device takes part in."""

    device: str
    identity: Identity | None = None
    """The device's private key (None: `sign` fails with `EffectError`)."""
    public_keys: Mapping[str, bytes] = field(default_factory=dict)
    """Device -> raw Ed25519 public key, for `verify` (the deployment's pinned keys)."""
    storage: DeviceStorage = field(default_factory=MemoryStorage)
    journal: FactSource = field(default_factory=NoFacts)


def session_rng(seed: int | None, session: str, role: str) -> random.Random:
    """The endpoint's random source: seeded by (seed, session, role), or the OS's when `seed` is None.

    String seeds hash with SHA-512 inside `random.Random`, so the draws are the same in every process
    (no dependence on `PYTHONHASHSEED`).
    """
    if seed is None:
        return random.SystemRandom()
    return random.Random(f"{seed}/{session}/{role}")


class DeviceHandler:
    """Performs role effects for one endpoint (see the module docstring)."""

    def __init__(self, resources: DeviceResources, rng: random.Random) -> None:
        self.resources = resources
        self.rng = rng

    async def handle(self, effect: Effect) -> Any:
        if isinstance(effect, Now):
            return asyncio.get_running_loop().time()
        if isinstance(effect, Sleep):
            require_sleep_seconds(effect)
            await asyncio.sleep(effect.seconds)
            return None
        if isinstance(effect, Random):
            return self.rng.random()
        if isinstance(effect, Sign):
            identity = self.resources.identity
            if identity is None:
                raise EffectError("sign", f"device {self.resources.device!r} has no key in this mode")
            return identity.sign(effect.data)
        if isinstance(effect, Verify):
            key = self._public_key(effect.device)
            return key is not None and verify_signature(key, effect.signature, effect.data)
        if isinstance(effect, StoreGet):
            return await self.resources.storage.get(effect.key)
        if isinstance(effect, StorePut):
            await self.resources.storage.put(effect.key, effect.value)
            return None
        if isinstance(effect, JournalFacts):
            return matching(self.resources.journal.facts(), effect.query)
        raise TypeError(f"not a role effect: {type(effect).__name__}")

    def _public_key(self, device: str) -> bytes | None:
        key = self.resources.public_keys.get(device)
        if key is None and self.resources.identity is not None and device == self.resources.device:
            key = self.resources.identity.public_bytes
        return key
