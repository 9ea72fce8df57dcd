"""A device's journal: its fact CRDT replica, persisted in a `JournalStore`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aura_choreo.journal.facts import Fact, FactId, FactLog, FactValue, VersionVector
from aura_choreo.journal.group import BudgetRow
from aura_choreo.journal.store import JournalStore


@dataclass(frozen=True)
class PendingFacts:
    """Facts prepared for a send, with ids reserved; committed iff the transport accepts the send."""

    facts: tuple[Fact, ...]


class Journal:
    """One device's replica of the fact CRDT.

    Counters are reserved when a send is prepared (so the facts can ride on that very message) and
    given back when the send is refused; facts reach the store only through `commit` and `merge`.
    """

    def __init__(self, device: str, store: JournalStore) -> None:
        self.device = device
        self.store = store
        # Indexed per device with the contiguous prefix kept up to date, so commits, merges and
        # deltas cost what they touch rather than the size of the whole journal.
        self._by_device: dict[str, dict[int, Fact]] = {}
        self._prefix: dict[str, int] = {}
        self._highest: dict[str, int] = {}
        self._count = 0
        self._lamport = 0
        for fact in store.load_facts(device):
            self._add(fact)
        self._next_counter = max(self._by_device.get(device, {0: None}), default=0) + 1
        self._peer_known: dict[str, VersionVector] = {}

    def _add(self, fact: Fact) -> bool:
        facts = self._by_device.setdefault(fact.id.device, {})
        if fact.id.counter in facts:
            return False
        facts[fact.id.counter] = fact
        self._count += 1
        self._lamport = max(self._lamport, fact.lamport)
        n = self._prefix.get(fact.id.device, 0)
        while n + 1 in facts:
            n += 1
        self._prefix[fact.id.device] = n
        self._highest[fact.id.device] = max(self._highest.get(fact.id.device, 0), fact.id.counter)
        return True

    def __contains__(self, fact_id: object) -> bool:
        return isinstance(fact_id, FactId) and fact_id.counter in self._by_device.get(fact_id.device, {})

    def __len__(self) -> int:
        return self._count

    @property
    def log(self) -> FactLog:
        """A snapshot of the replica as an immutable `FactLog`."""
        return FactLog.of(f for facts in self._by_device.values() for f in facts.values())

    @property
    def lamport(self) -> int:
        return self._lamport

    def facts(self) -> list[Fact]:
        """Every fact, ordered by id."""
        return list(self.log)

    def version_vector(self) -> VersionVector:
        return VersionVector(dict(sorted(self._prefix.items())))

    def reserve(
        self,
        names: Iterable[str],
        *,
        protocol: str,
        session: str,
        role: str,
        label: str,
        data: Mapping[str, FactValue] | None = None,
    ) -> PendingFacts:
        """Prepare one fact per name, with the next counters and Lamport times; nothing is stored yet."""
        facts = []
        for name in names:
            self._lamport += 1
            fact_id = FactId(self.device, self._next_counter)
            self._next_counter += 1
            facts.append(Fact(fact_id, name, protocol, session, role, label, self._lamport, dict(data or {})))
        return PendingFacts(tuple(facts))

    def commit(self, pending: PendingFacts, budgets: Sequence[BudgetRow] = ()) -> tuple[Fact, ...]:
        """Store the pending facts (and the send's flow-budget charges) durably in one transaction and
        add them to the replica."""
        self.store.append_facts(self.device, pending.facts, budgets)
        for fact in pending.facts:
            self._add(fact)
        return pending.facts

    async def commit_grouped(
        self, pending: PendingFacts, budgets: Sequence[BudgetRow] = ()
    ) -> tuple[Fact, ...]:
        """`commit` through the store's group commit: returns once the batch holding these facts has
        committed (raises its write error otherwise). The replica gets them when they are on disk."""

        def durable() -> None:
            for fact in pending.facts:
                self._add(fact)

        await self.store.group.submit(self.device, pending.facts, budgets, on_durable=durable)
        return pending.facts

    def release(self, pending: PendingFacts) -> None:
        """Give back the counters of a refused send (when no later reservation took counters after them)."""
        if pending.facts and pending.facts[-1].id.counter == self._next_counter - 1:
            self._next_counter = pending.facts[0].id.counter

    def merge(self, delta: FactLog, *, from_device: str | None = None) -> tuple[Fact, ...]:
        """Merge a peer's delta (union); returns the facts that were new here, now stored."""
        new = tuple(f for f in delta if f.id not in self)
        self.store.append_facts(self.device, new)
        for fact in new:
            self._add(fact)
        if from_device is not None:
            self.note_delivered(from_device, delta)
        return new

    def delta_for(self, peer: str, pending: PendingFacts | None = None) -> FactLog:
        """What `peer` is not known to have: committed facts past its version vector, plus `pending`."""
        known = self._peer_known.get(peer, VersionVector())
        unknown = []
        for device, facts in self._by_device.items():
            seen = known[device]
            if seen >= self._highest.get(device, 0):
                continue
            unknown += [fact for counter, fact in facts.items() if counter > seen]
        return FactLog.of([*unknown, *(pending.facts if pending else ())])

    def note_known(self, peer: str, known: VersionVector) -> None:
        """Record `peer`'s version vector (carried back on its journal delta): the acknowledgement of
        every delta sent to it before. Until then a delta is resent, whatever the transport did."""
        self._peer_known[peer] = self._peer_known.get(peer, VersionVector()).merge(known)

    def note_delivered(self, peer: str, delta: FactLog) -> None:
        """Record that `peer` holds `delta` (it sent it to us)."""
        known = dict(self._peer_known.get(peer, VersionVector()).counters)
        for device in {f.id.device for f in delta}:
            n = known.get(device, 0)
            while FactId(device, n + 1) in delta:
                n += 1
            known[device] = n
        self._peer_known[peer] = VersionVector(known)

    def record_trace(self, session: str, protocol: str, events: Iterable[object]) -> None:
        """Store a session's trace events alongside the facts (any dataclass, mapping or `to_json()`)."""
        self.store.append_trace_events(session, protocol, (event_to_json(e) for e in events))


def event_to_json(event: object) -> Mapping[str, object]:
    """A trace event as a JSON object: via its `to_json()`, as a dataclass, or as a mapping."""
    to_json = getattr(event, "to_json", None)
    if callable(to_json):
        value = to_json()
        if isinstance(value, Mapping):
            return value
    if dataclasses.is_dataclass(event) and not isinstance(event, type):
        return dataclasses.asdict(event)
    if isinstance(event, Mapping):
        return event
    return {"event": repr(event)}
