"""`StorageCoordinator` (SPEC §8.4): namespaced key/value storage replicated with quorums.

Each device keeps its replicas in SQLite (`StorageStore`: one file per device, WAL; `:memory:` for
tests). A key lives on `n` devices (its preference list: the cluster ordered by a hash of namespace,
key and device name). A write succeeds once `w` of them stored it, a read once `r` of them answered;
their exchanges run `storage.choreo`. Values are `MVRegister`s: a write overwrites the versions its
`context` (what the writer read) covers and stays beside the ones it did not see, so concurrent writes
come back as siblings (or resolved by a `merge` function for the reader). A read sends the merged
register back to every replica that answered with less (read repair).

Access is checked against the capability policy: `storage:write:<namespace>` and
`storage:read:<namespace>`, by the coordinating device before anything is sent and by each replica
for the device asking it, so a denied capability writes nothing anywhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aura_choreo.errors import CapabilityDenied
from aura_choreo.orchestration.crdt import MVRegister, Value, VectorClock, codec
from aura_choreo.orchestration.exchange import Device, ExchangeOptions, run_exchange, shipped_protocol
from aura_choreo.orchestration.retry import CoordinationError
from aura_choreo.runtime import Endpoint

Capabilities = Callable[[str], Collection[str]]
"""Device name -> the capabilities it holds (e.g. `lambda d: policy.device_policy(d).capabilities`)."""

DEFAULT_OPTIONS = ExchangeOptions()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS registers (
    namespace TEXT NOT NULL, key TEXT NOT NULL, register BLOB NOT NULL, PRIMARY KEY (namespace, key)
);
CREATE TABLE IF NOT EXISTS counters (device TEXT PRIMARY KEY, counter INTEGER NOT NULL);
"""


class QuorumNotReached(CoordinationError):
    """Fewer replicas than the quorum answered; `errors` holds why the others did not."""

    def __init__(self, what: str, needed: int, got: int, errors: list[BaseException]) -> None:
        self.needed, self.got, self.errors = needed, got, errors
        reasons = "; ".join(f"{type(e).__name__}: {e}" for e in errors[:3])
        super().__init__(f"{what}: {got} of the {needed} replicas needed answered ({reasons})")


class StorageStore:
    """A device's registers by (namespace, key), and its write counter, in SQLite."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def get(self, namespace: str, key: str) -> MVRegister:
        row = self._db.execute(
            "SELECT register FROM registers WHERE namespace = ? AND key = ?", (namespace, key)
        ).fetchone()
        return MVRegister.from_bytes(row[0]) if row else MVRegister()

    def merge(self, namespace: str, key: str, register: MVRegister) -> MVRegister:
        """Join `register` into the stored one (one transaction); returns the result."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            merged = self.get(namespace, key).merge(register)
            self._db.execute(
                "INSERT OR REPLACE INTO registers VALUES (?, ?, ?)", (namespace, key, merged.to_bytes())
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return merged

    def next_counter(self, device: str) -> int:
        """A fresh write counter for `device` (durable, so a restart never reuses a dot)."""
        self._db.execute("BEGIN IMMEDIATE")
        row = self._db.execute("SELECT counter FROM counters WHERE device = ?", (device,)).fetchone()
        counter = (row[0] if row else 0) + 1
        self._db.execute("INSERT OR REPLACE INTO counters VALUES (?, ?)", (device, counter))
        self._db.execute("COMMIT")
        return counter

    def keys(self, namespace: str) -> list[str]:
        rows = self._db.execute("SELECT key FROM registers WHERE namespace = ? ORDER BY key", (namespace,))
        return [row[0] for row in rows]


@dataclass(frozen=True)
class ReadResult:
    """What a read returns: the values (siblings, or one when resolved), the merged register, and the
    context to pass to a write that should replace them."""

    values: tuple[Value, ...]
    register: MVRegister
    context: VectorClock
    answered: int
    repaired: int


class StorageCoordinator:
    """Storage on `device`; `join` the other coordinators of the cluster, then `put` and `get`."""

    def __init__(
        self,
        device: Device,
        store: StorageStore,
        capabilities: Capabilities,
        *,
        n: int = 3,
        w: int = 2,
        r: int = 2,
        merge: Callable[[tuple[Value, ...]], Value] | None = None,
        options: ExchangeOptions = DEFAULT_OPTIONS,
    ) -> None:
        if not 1 <= w <= n or not 1 <= r <= n:
            raise ValueError(f"quorums need 1 <= w, r <= n; got n={n}, w={w}, r={r}")
        self.device, self.store, self.capabilities = device, store, capabilities
        self.n, self.w, self.r = n, w, r
        self.merge_values = merge
        self.options = options
        self.cluster: list[StorageCoordinator] = [self]

    def join(self, *others: StorageCoordinator) -> None:
        for other in others:
            if other not in self.cluster:
                self.cluster.append(other)

    def preference_list(self, namespace: str, key: str) -> list[StorageCoordinator]:
        """The `n` devices that hold `namespace/key`."""

        def rank(node: StorageCoordinator) -> bytes:
            return hashlib.blake2b(f"{namespace}\0{key}\0{node.device.name}".encode(), digest_size=8).digest()

        return sorted(self.cluster, key=rank)[: self.n]

    def _require(self, device: str, action: str, namespace: str) -> None:
        capability = f"storage:{action}:{namespace}"
        if capability not in self.capabilities(device):
            raise CapabilityDenied(device, capability, step=f"storage {action} in namespace {namespace!r}")

    async def put(
        self, namespace: str, key: str, value: Value, context: VectorClock | None = None
    ) -> VectorClock:
        """Write `value`, replacing the versions `context` covers; returns the write's clock.

        A value the register's byte format cannot carry is refused (`CrdtValueError`) before a write
        counter is spent or anything is sent."""
        self._require(self.device.name, "write", namespace)
        codec.value_arg(value, MVRegister.KIND)  # before a counter is spent: a refusal changes nothing
        counter = self.store.next_counter(self.device.name)
        clock = (context or VectorClock()).merge(VectorClock.of({self.device.name: counter}))
        register = MVRegister.written(self.device.name, clock, value)
        targets = self.preference_list(namespace, key)
        outcomes = await asyncio.gather(
            *(self._store_on(t, namespace, key, register) for t in targets), return_exceptions=True
        )
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        if len(targets) - len(errors) < self.w:
            raise QuorumNotReached(f"write {namespace}/{key}", self.w, len(targets) - len(errors), errors)
        return clock

    async def get(self, namespace: str, key: str) -> ReadResult:
        """Read from the key's replicas until `r` answered; merge, repair the stale ones, return."""
        self._require(self.device.name, "read", namespace)
        targets = self.preference_list(namespace, key)
        outcomes = await asyncio.gather(
            *(self._read_from(t, namespace, key) for t in targets), return_exceptions=True
        )
        answers = [(t, o) for t, o in zip(targets, outcomes, strict=True) if isinstance(o, MVRegister)]
        if len(answers) < self.r:
            errors = [o for o in outcomes if isinstance(o, BaseException)]
            raise QuorumNotReached(f"read {namespace}/{key}", self.r, len(answers), errors)
        merged = MVRegister.join_all(register for _, register in answers)
        stale = [t for t, register in answers if register != merged]
        repairs = await asyncio.gather(
            *(self._store_on(t, namespace, key, merged) for t in stale), return_exceptions=True
        )
        values = merged.value
        if self.merge_values is not None and len(values) > 1:
            values = (self.merge_values(values),)
        repaired = sum(1 for outcome in repairs if not isinstance(outcome, BaseException))
        return ReadResult(values, merged, merged.version(), len(answers), repaired)

    # The exchanges of storage.choreo ----------------------------------------------------------------
    async def _store_on(
        self, target: StorageCoordinator, namespace: str, key: str, register: MVRegister
    ) -> None:
        if target is self:
            self.store.merge(namespace, key, register)
            return

        async def coordinator(ep: Endpoint) -> None:
            await ep.choose("write")
            await ep.send(
                "Replica", ep.message("Put", namespace=namespace, key=key, register=register.to_bytes())
            )
            ack = await ep.recv("Replica", "PutAck")
            if not ack.stored:
                raise CoordinationError(f"{target.device.name} did not store {namespace}/{key}")

        await self._exchange(target, coordinator)

    async def _read_from(self, target: StorageCoordinator, namespace: str, key: str) -> MVRegister:
        if target is self:
            return self.store.get(namespace, key)
        found: list[MVRegister] = []

        async def coordinator(ep: Endpoint) -> None:
            await ep.choose("read")
            await ep.send("Replica", ep.message("Get", namespace=namespace, key=key))
            reply = await ep.recv("Replica", "GetReply")
            found.append(MVRegister.from_bytes(reply.register))

        await self._exchange(target, coordinator)
        return found[0]

    async def _exchange(self, target: StorageCoordinator, coordinator: Callable[[Endpoint], Any]) -> None:
        await run_exchange(
            shipped_protocol("storage.choreo"),
            {
                "Coordinator": (self.device, coordinator),
                "Replica": (target.device, target._serve(self.device.name)),
            },
            self.options,
        )

    def _serve(self, asker: str) -> Callable[[Endpoint], Any]:
        async def replica(ep: Endpoint) -> None:
            label = await ep.offer("Coordinator")
            request = ep.last_message
            if label == "Put":
                self._require(asker, "write", request.namespace)
                incoming = MVRegister.from_bytes(request.register)
                self.store.merge(request.namespace, request.key, incoming)
                await ep.send("Coordinator", ep.message("PutAck", stored=True))
            else:
                self._require(asker, "read", request.namespace)
                register = self.store.get(request.namespace, request.key)
                await ep.send("Coordinator", ep.message("GetReply", register=register.to_bytes()))

        return replica
