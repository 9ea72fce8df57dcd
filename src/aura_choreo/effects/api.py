"""`ep.effects`: the typed calls role code makes, each one an effect sent down the handler stack."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Protocol, cast

from aura_choreo.effects.ops import (
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
)
from aura_choreo.journal.facts import Fact, FactValue


class Effects:
    """The role effects of one endpoint (SPEC §5.8): `await ep.effects.sleep(1.0)`."""

    __slots__ = ("handler",)

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def now(self) -> float:
        """The event loop's clock in seconds (virtual in simulation)."""
        return cast(float, await self.handler.handle(Now()))

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` on the event loop's clock (no real time passes in simulation)."""
        await self.handler.handle(Sleep(float(seconds)))

    async def random(self) -> float:
        """A float in [0, 1): the same sequence for the same seed, session and role (testing, simulation)."""
        return cast(float, await self.handler.handle(Random()))

    async def sign(self, data: bytes) -> bytes:
        """This device's Ed25519 signature of `data`."""
        return cast(bytes, await self.handler.handle(Sign(bytes(data))))

    async def verify(self, device: str, data: bytes, signature: bytes) -> bool:
        """Whether `signature` is `device`'s signature of `data`."""
        return cast(bool, await self.handler.handle(Verify(device, bytes(data), bytes(signature))))

    async def store_get(self, key: str) -> StoreValue:
        """The value this device stores under `key`, or None."""
        return cast(StoreValue, await self.handler.handle(StoreGet(key)))

    async def store_put(self, key: str, value: StoreValue) -> None:
        """Store `value` under `key` on this device."""
        await self.handler.handle(StorePut(key, value))

    async def journal_facts(
        self,
        name: str | FactQuery,
        *,
        protocol: str | None = None,
        session: str | None = None,
        role: str | None = None,
        data: Mapping[str, FactValue] | None = None,
    ) -> tuple[Fact, ...]:
        """The facts named `name` in this device's journal (narrowed by the other fields), in id order."""
        query = (
            name
            if isinstance(name, FactQuery)
            else FactQuery(name, protocol, session, role, tuple(sorted((data or {}).items())))
        )
        return cast(tuple[Fact, ...], await self.handler.handle(JournalFacts(query)))


class HasEffects(Protocol):
    """An endpoint, as far as `role_effects` is concerned."""

    @property
    def effects(self) -> Effects: ...


_CURRENT: ContextVar[HasEffects] = ContextVar("aura_choreo_role_endpoint")


def role_effects() -> Effects:
    """The running role's `ep.effects`, for behaviours (which see `env`, not the endpoint).

    The runner sets it in each role's own task, so one behaviour object shared by several roles or
    sessions gets the effects of the role it is answering for. Raises LookupError outside a role.
    """
    return _CURRENT.get().effects


def enter_role(endpoint: HasEffects) -> None:
    """Make `endpoint.effects` what `role_effects()` returns in the current task (the runner calls
    this; the effects themselves are built on first use, so roles that never use them pay nothing)."""
    _CURRENT.set(endpoint)
