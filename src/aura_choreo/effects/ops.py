"""The effects role code may perform besides messages (SPEC §5.8), as data.

Role code asks for time, randomness, signatures, device storage and journal facts by handing one of
these values to a handler stack (`Handler`): the device handler at the bottom performs it, and
middleware above it (trace, metrics, fault injection) sees every one on its way down. Message
effects (`runtime.program`) share the `Effect` base, so one middleware class wraps both kinds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from aura_choreo.errors import AuraChoreoError

StoreValue = str | int | bytes | bool | None
"""What device storage holds under a key (the storage coordinator's value types)."""


@dataclass(frozen=True)
class Effect:
    """Base of every effect (message effects in `runtime.program`, role effects here)."""


class Handler(Protocol):
    """Performs effects; middleware is a handler that wraps another one."""

    async def handle(self, effect: Effect) -> Any: ...


class EffectError(AuraChoreoError):
    """A role effect that could not be performed (no device key, storage refused, ...)."""

    def __init__(self, effect: str, reason: str) -> None:
        self.effect = effect
        self.reason = reason
        super().__init__(f"{effect}: {reason}")


def require_store_value(key: str, value: object) -> None:
    """Raise `EffectError` unless `value` is a `StoreValue`: every device storage refuses the rest
    alike, so role code that stores a tuple or a float fails in testing and simulation as in
    production (whose SQLite registers could not decode it back, breaking the key for good)."""
    if value is not None and not isinstance(value, str | int | bytes):
        raise EffectError(
            f"store_put {key}",
            f"cannot store a {type(value).__name__}: a stored value is str, int, bytes, bool or None",
        )


def require_sleep_seconds(effect: Sleep) -> None:
    """Raise `EffectError` unless `effect` sleeps a finite, non-negative time. NaN must be refused
    here, not by `< 0` (false for NaN): the event loop's timer heap cannot order a NaN deadline, so
    such a sleep ended whenever some other timer fired and the stall was blamed on a peer; an infinite
    sleep never ends and is the same mistake."""
    if not math.isfinite(effect.seconds) or effect.seconds < 0:
        raise EffectError(describe(effect), "a sleep lasts a finite, non-negative number of seconds")


@dataclass(frozen=True)
class Now(Effect):
    """The event loop's clock, in seconds (virtual time in simulation)."""


@dataclass(frozen=True)
class Sleep(Effect):
    """Wait `seconds` on the event loop's clock."""

    seconds: float


@dataclass(frozen=True)
class Random(Effect):
    """A float in [0, 1): seeded per session and role in testing and simulation, OS entropy in production."""


@dataclass(frozen=True)
class Sign(Effect):
    """Sign `data` with this device's Ed25519 key."""

    data: bytes


@dataclass(frozen=True)
class Verify(Effect):
    """Whether `signature` is `device`'s signature of `data` (by the public key the deployment pins)."""

    device: str
    data: bytes
    signature: bytes


@dataclass(frozen=True)
class StoreGet(Effect):
    """The value this device stores under `key` (None when there is none)."""

    key: str


@dataclass(frozen=True)
class StorePut(Effect):
    """Store `value` under `key` on this device."""

    key: str
    value: StoreValue


@dataclass(frozen=True)
class FactQuery:
    """Which journal facts to return: every field that is set must match (`name` is required)."""

    name: str
    protocol: str | None = None
    session: str | None = None
    role: str | None = None
    data: tuple[tuple[str, str | int | float | bool | None], ...] = ()
    """(key, value) pairs the fact's data must hold."""


@dataclass(frozen=True)
class JournalFacts(Effect):
    """The facts committed to this device's journal (by an earlier phase or session) matching `query`."""

    query: FactQuery


ROLE_EFFECTS = (Now, Sleep, Random, Sign, Verify, StoreGet, StorePut, JournalFacts)
"""The effects the device handler performs."""


def describe(effect: Effect) -> str:
    """`sleep 3600`, `store_put k`, ... (for traces and errors; never the data itself)."""
    if isinstance(effect, Sleep):
        return f"sleep {effect.seconds:g}"
    if isinstance(effect, StoreGet | StorePut):
        return f"{'store_get' if isinstance(effect, StoreGet) else 'store_put'} {effect.key}"
    if isinstance(effect, Verify):
        return f"verify {effect.device}"
    if isinstance(effect, JournalFacts):
        return f"journal_facts {effect.query.name}"
    names = {Now: "now", Random: "random", Sign: "sign"}
    return names.get(type(effect), type(effect).__name__)
