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
from aura_choreo.orchestration.crdt import Crdt, CrdtDecodeError, codec, entry_map

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
    """A replica of a CRDT value as an entry set (`value` may also be changed with `apply`)."""

    def __init__(self, name: str, value: C) -> None:
        self.name = name
        self.value: C = value
        self._kind: type[C] = type(value)
        self._cached: tuple[C, dict[bytes, Crdt]] | None = None

    def apply(self, op: Callable[[C], tuple[C, C]]) -> C:
        self.value, delta = op(self.value)
        return delta

    def _entries(self) -> dict[bytes, Crdt]:
        # Values are immutable, so the entry map of the value last seen stays valid until it changes.
        if self._cached is None or self._cached[0] is not self.value:
            self._cached = (self.value, entry_map(self.value))
        return self._cached[1]

    def entry_ids(self) -> Iterable[bytes]:
        return self._entries().keys()

    def entries_not_in(self, digest: BloomFilter) -> list[bytes]:
        return [entry.to_bytes() for eid, entry in self._entries().items() if eid not in digest]

    def absorb(self, entries: list[bytes]) -> int:
        before = self._entries()
        decoded = [self._kind.from_bytes(data) for data in entries]
        self.value = self.value.merge(self._kind.join_all(decoded))
        return len(set(self._entries()) - set(before))


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
        return [
            _FACT_ENCODER.encode(fact.to_wire())
            for fact in self.journal.facts()
            if fact_entry_id(fact.id) not in digest
        ]

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
