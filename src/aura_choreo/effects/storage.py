"""Where the storage and journal effects read and write: small interfaces, so the device handler
works with in-memory storage in tests, the orchestration storage coordinator where it exists, and any
journal (SPEC §5.4) without knowing which."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from aura_choreo.effects.ops import FactQuery, StoreValue, require_store_value
from aura_choreo.journal.facts import Fact


class DeviceStorage(Protocol):
    """A device's key-value storage."""

    async def get(self, key: str) -> StoreValue: ...

    async def put(self, key: str, value: StoreValue) -> None: ...


class FactSource(Protocol):
    """A device's journal, as the journal effect reads it (`journal.Journal` is one)."""

    def facts(self) -> Iterable[Fact]: ...


class MemoryStorage:
    """Storage in a dict: testing and simulation (one per device, shared by its sessions)."""

    def __init__(self) -> None:
        self.values: dict[str, StoreValue] = {}

    async def get(self, key: str) -> StoreValue:
        return self.values.get(key)

    async def put(self, key: str, value: StoreValue) -> None:
        require_store_value(key, value)
        self.values[key] = value


class NoFacts:
    """A device without a journal: no facts (every query answers the empty tuple)."""

    def facts(self) -> Iterable[Fact]:
        return ()


def matching(facts: Iterable[Fact], query: FactQuery) -> tuple[Fact, ...]:
    """The facts `query` selects, in id order (so a replayed run reads them in the same order)."""
    found = [
        fact
        for fact in facts
        if fact.name == query.name
        and (query.protocol is None or fact.protocol == query.protocol)
        and (query.session is None or fact.session == query.session)
        and (query.role is None or fact.role == query.role)
        and all(key in fact.data and fact.data[key] == value for key, value in query.data)
    ]
    return tuple(sorted(found, key=lambda fact: fact.id))
