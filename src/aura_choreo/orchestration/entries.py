"""What anti-entropy reconciles: a set of entries, each with an id, behind one small interface.

`CrdtEntries` holds a CRDT value (its entries are `Crdt.entries()`, ids `entry_id`); `JournalEntries`
is a device's fact journal (entries are facts, ids their `(device, counter)`). Entries travel as one
`codec` container of byte strings; decoding them is a trust boundary (`CrdtDecodeError`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, Protocol, TypeVar

import msgspec

from aura_choreo.journal import Fact, FactId, FactLog, Journal
from aura_choreo.orchestration.bloom import BloomFilter
from aura_choreo.orchestration.crdt import Crdt, CrdtDecodeError, codec, entry_id, entry_map

C = TypeVar("C", bound=Crdt)
MAX_ENTRIES = 1_000_000


class EntrySet(Protocol):
    """A replica's entries, as anti-entropy sees them."""

    name: str

    def entry_ids(self) -> Iterable[bytes]:
        """The id of every entry held."""
        ...

    def entries_not_in(self, digest: BloomFilter) -> list[bytes]:
        """The encoded entries whose ids `digest` does not hold."""
        ...

    def absorb(self, entries: list[bytes]) -> int:
        """Merge encoded entries from a peer; returns how many were new."""
        ...


def pack_entries(entries: list[bytes]) -> bytes:
    return codec.pack("Entries", entries)


def unpack_entries(data: bytes) -> list[bytes]:
    _, body = codec.unpack(data, "Entries")
    items = codec.as_list(body, "entries")
    if len(items) > MAX_ENTRIES:
        raise CrdtDecodeError(f"entries: {len(items)} in one message, past {MAX_ENTRIES}")
    found = [item for item in items if isinstance(item, bytes)]
    if len(found) != len(items):
        raise CrdtDecodeError("entries: expected byte strings")
    return found


class CrdtEntries(Generic[C]):
    """A replica of a CRDT value as an entry set (change `value` with `apply`, or assign it).

    The entry map is kept incrementally: `apply` and `absorb` add the entries of what they merged.
    An entry once held stays below the value (values only grow), so an id kept after a later write
    subsumed its entry is harmless: the peer that has it lacks nothing, and sending it changes
    nothing. The map is rebuilt from the value when such leftovers may have piled up, and whenever
    `value` was assigned from outside.
    """

    def __init__(self, name: str, value: C) -> None:
        self.name = name
        self.value: C = value
        self._kind: type[C] = type(value)
        self._map: dict[bytes, Crdt] = {}
        self._mapped: C | None = None
        self._added = 0

    def _entries(self) -> dict[bytes, Crdt]:
        if self._mapped is not self.value or self._added > max(1024, len(self._map)):
            self._map, self._mapped, self._added = entry_map(self.value), self.value, 0
        return self._map

    def _grow(self, merged: C) -> None:
        current = self._entries()
        self.value = self.value.merge_within_limit(merged)  # CrdtSizeError: nothing changes
        fresh = entry_map(merged)
        self._added += len(fresh)
        current.update(fresh)
        self._mapped = self.value

    def apply(self, op: Callable[[C], tuple[C, C]]) -> C:
        _, delta = op(self.value)
        self._grow(delta)
        return delta

    def entry_ids(self) -> Iterable[bytes]:
        return self._entries().keys()

    def entries_not_in(self, digest: BloomFilter) -> list[bytes]:
        held = list(self._entries().items())
        return [held[i][1].to_bytes() for i in digest.absent([eid for eid, _ in held])]

    def absorb(self, entries: list[bytes]) -> int:
        decoded = [self._kind.from_bytes(data) for data in entries]
        known = self._entries()
        new = sum(1 for entry in decoded if entry_id(entry) not in known)
        self._grow(self._kind.join_all(decoded))
        return new


_FACT_ENCODER = msgspec.msgpack.Encoder()


def fact_entry_id(fact_id: FactId) -> bytes:
    return _FACT_ENCODER.encode([fact_id.device, fact_id.counter])


class JournalEntries:
    """A device's fact journal (SPEC §5.4) as an entry set: journals converge with no `journal_merge`."""

    def __init__(self, journal: Journal, name: str = "journal") -> None:
        self.journal = journal
        self.name = name

    def entry_ids(self) -> Iterable[bytes]:
        return (fact_entry_id(f.id) for f in self.journal.facts())

    def entries_not_in(self, digest: BloomFilter) -> list[bytes]:
        facts = self.journal.facts()
        absent = digest.absent([fact_entry_id(f.id) for f in facts])
        # As they leave the device: a keyed journal's own facts signed (a keyed peer refuses unsigned ones).
        return [_FACT_ENCODER.encode(f.to_wire()) for f in self.journal.signed(facts[i] for i in absent)]

    def absorb(self, entries: list[bytes]) -> int:
        facts = []
        for data in entries:
            try:
                raw = msgspec.msgpack.decode(data)
                if not isinstance(raw, dict):
                    raise TypeError("a fact is a map")
                fact = Fact.from_wire(raw)
            except (msgspec.DecodeError, ValueError, KeyError, TypeError) as exc:
                raise CrdtDecodeError(f"malformed journal fact: {exc}") from None
            if fact.id.counter < 1:
                raise CrdtDecodeError("malformed journal fact: counters start at 1")
            facts.append(fact)
        return len(self.journal.merge(FactLog.of(facts)))
