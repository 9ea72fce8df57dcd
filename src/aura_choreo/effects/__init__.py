"""Effects for role code (SPEC §5.8): time, randomness, device keys, device storage, journal facts.

Role code calls `ep.effects.now()`, `sleep(d)`, `random()`, `sign(data)`, `verify(device, data, sig)`,
`store_get(key)`, `store_put(key, value)` and `journal_facts(name, ...)`; each call is an effect
value handed to the endpoint's handler stack (`EffectStack`), where middleware sees it and the device
handler performs it. Behaviours, which are given `env` rather than the endpoint, use `role_effects()`.
"""

from aura_choreo.effects.api import Effects, enter_role, role_effects
from aura_choreo.effects.device import DeviceHandler, DeviceResources, session_rng
from aura_choreo.effects.observe import EffectEvent, EffectFaults, EffectLog
from aura_choreo.effects.ops import (
    ROLE_EFFECTS,
    Effect,
    EffectError,
    FactQuery,
    Handler,
    JournalFacts,
    Now,
    Random,
    Sign,
    Sleep,
    StoreGet,
    StorePut,
    StoreValue,
    Verify,
    describe,
)
from aura_choreo.effects.stack import EffectStack, MiddlewareFactory
from aura_choreo.effects.storage import DeviceStorage, FactSource, MemoryStorage, NoFacts, matching

__all__ = [
    "ROLE_EFFECTS",
    "DeviceHandler",
    "DeviceResources",
    "DeviceStorage",
    "Effect",
    "EffectError",
    "EffectEvent",
    "EffectFaults",
    "EffectLog",
    "EffectStack",
    "Effects",
    "FactQuery",
    "FactSource",
    "Handler",
    "JournalFacts",
    "MemoryStorage",
    "MiddlewareFactory",
    "NoFacts",
    "Now",
    "Random",
    "Sign",
    "Sleep",
    "StoreGet",
    "StorePut",
    "StoreValue",
    "Verify",
    "describe",
    "enter_role",
    "matching",
    "role_effects",
    "session_rng",
]
