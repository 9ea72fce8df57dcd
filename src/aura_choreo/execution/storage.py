"""Device storage for production: the orchestration `StorageCoordinator` (SQLite, SPEC §8.4) of this
device alone, seen through the small `DeviceStorage` interface the storage effects use."""

from __future__ import annotations

import sqlite3

from aura_choreo.effects.ops import EffectError, StoreValue, require_store_value
from aura_choreo.journal.store import cannot_open
from aura_choreo.orchestration.crdt import VectorClock
from aura_choreo.orchestration.exchange import Device
from aura_choreo.orchestration.storage import StorageCoordinator, StorageStore
from aura_choreo.transports.inmemory import InMemoryTransport

NAMESPACE = "effects"
"""The storage namespace role code's `store_get` / `store_put` use."""


class CoordinatorStorage:
    """`store_get` / `store_put` on a `StorageCoordinator`: a put replaces every version it has read
    (so one device's writes never leave siblings), a get returns the single value (or, when replicas
    wrote concurrently, the siblings' first by the register's order, the same on every device)."""

    def __init__(self, coordinator: StorageCoordinator, namespace: str = NAMESPACE) -> None:
        self.coordinator = coordinator
        self.namespace = namespace
        self._seen: dict[str, VectorClock] = {}

    async def get(self, key: str) -> StoreValue:
        result = await self.coordinator.get(self.namespace, key)
        self._seen[key] = result.context
        return result.values[0] if result.values else None

    async def put(self, key: str, value: StoreValue) -> None:
        require_store_value(key, value)  # before anything is written: a register must decode again
        if key not in self._seen:
            await self.get(key)  # learn the versions this write replaces
        try:
            self._seen[key] = await self.coordinator.put(self.namespace, key, value, self._seen[key])
        except (TypeError, ValueError) as exc:
            raise EffectError(f"store_put {key}", str(exc)) from None


def local_storage(device: str, path: str) -> CoordinatorStorage:
    """This device's own storage in SQLite at `path` (`:memory:` for tests): a one-replica coordinator
    allowed its own namespace, so reads and writes never leave the process.

    Raises `JournalError` naming `path` when it cannot be opened (a directory, not a database, below
    a file), as the journal beside it does: the user's configuration, not the role's failure.
    """
    try:
        store = StorageStore(path)
    except (OSError, sqlite3.Error) as exc:
        raise cannot_open("device storage", path, exc) from exc
    allowed = {f"storage:read:{NAMESPACE}", f"storage:write:{NAMESPACE}"}
    node = Device(device, InMemoryTransport())  # named only: a single replica never exchanges
    return CoordinatorStorage(StorageCoordinator(node, store, lambda _d: allowed, n=1, w=1, r=1))
