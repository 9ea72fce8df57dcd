"""What every CRDT offers (SPEC §8.1), and the entry ids anti-entropy digests.

A CRDT here is an immutable value of a join-semilattice:

- `merge(other)` is the join (commutative, associative, idempotent);
- each operation returns `(new value, delta)` with `new == old.merge(delta)`, and the delta is small;
- `version()` summarises what the value holds as a `VectorClock`, and `delta_since(version)` is what
  a replica at that version lacks (`old.merge(new.delta_since(old.version())) == old.merge(new)`);
- `entries()` splits the value into atomic pieces whose join is the value again: anti-entropy puts
  their ids (`entry_id`, a hash of the piece's bytes) in a Bloom filter and ships only the pieces the
  other side lacks.

Vector clocks and dots, the causal bookkeeping every other CRDT builds on, live here too: every
CRDT's `version()` is a `VectorClock`, which is itself a CRDT.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Self

from aura_choreo.orchestration.crdt import codec

ENTRY_ID_BYTES = 16
_SIZE = "_bytes_at_most"
"""Instance-dict key of a value's size bound (see `Crdt._apply`): a cache, as `functools.cached_property`
keeps one on a frozen dataclass, outside its fields (equality and hashing never see it)."""


class Crdt(ABC):
    """The interface of every CRDT value. Subclasses are frozen dataclasses."""

    KIND = ""

    @classmethod
    @abstractmethod
    def empty(cls) -> Self:
        """The bottom of the lattice (merging it changes nothing)."""

    def merge(self, other: Self) -> Self:
        """The join of two values (`_merge`); the result's size bound (see `_apply`) follows from the
        two sides' when both have one, so a value merged with what a peer sent (whose bound is the
        length of its bytes) is not measured again at its next operation."""
        new = self._merge(other)
        mine, theirs = self.__dict__.get(_SIZE), other.__dict__.get(_SIZE)
        if mine is not None and theirs is not None and _SIZE not in new.__dict__:
            new.__dict__[_SIZE] = _join_bound(mine, theirs)
        return new

    @abstractmethod
    def _merge(self, other: Self) -> Self:
        """The join of two values (what each type defines; `merge` is what callers use)."""

    @property
    @abstractmethod
    def value(self) -> Any:
        """The plain Python value a user reads."""

    @abstractmethod
    def version(self) -> VectorClock:
        """A summary of what this value holds, for `delta_since` on another replica."""

    @abstractmethod
    def delta_since(self, version: VectorClock) -> Self:
        """The part of this value a replica at `version` lacks."""

    @abstractmethod
    def entries(self) -> Iterable[Self]:
        """Atomic pieces whose join is this value (for anti-entropy)."""

    @abstractmethod
    def body(self) -> object:
        """This value's fields as plain MessagePack values, in canonical order."""

    @classmethod
    @abstractmethod
    def from_body(cls, raw: object) -> Self:
        """Decode a `body()` (raises `CrdtDecodeError` on a wrong shape)."""

    def is_empty(self) -> bool:
        return self == self.empty()

    def _apply(self, delta: Self) -> tuple[Self, Self]:
        """What an operation returns, `(self.merge(delta), delta)`, or `CrdtSizeError` (nothing
        changes) when the new value would encode past `codec.MAX_BYTES`, which no peer's `from_bytes`
        takes: past it a replica could never sync again, so the operation that would get it there is
        the one refused.

        Measuring every new value would make each operation cost as much as encoding the whole value.
        A value carries an upper bound of its size instead (`_join_bound`). Only when the bound
        passes the limit is the new value measured, and the measured size becomes its bound.
        """
        return self._join_within_limit(delta, "value after this operation"), delta

    def merge_within_limit(self, other: Self) -> Self:
        """`merge`, or `CrdtSizeError` (nothing changes) when the join would encode past
        `codec.MAX_BYTES`. What a replica takes from a peer is joined this way: each side's operations
        kept it under the limit, yet the join of two replicas can pass it, and a replica that kept
        such a join could never send its value again (SPEC §8.2: a sync leaves both replicas with the
        join, which here no peer could decode). `merge` itself stays total: it is the lattice's join."""
        return self._join_within_limit(other, "join with what a peer sent")

    def _join_within_limit(self, other: Self, what: str) -> Self:
        new = self._merge(other)
        bound = _join_bound(_bytes_at_most(self), _bytes_at_most(other))
        if bound > codec.MAX_BYTES:
            bound = codec.packed_size(new.KIND, new.body())
            if bound > codec.MAX_BYTES:
                raise codec.too_large(self.KIND, bound, what)
        new.__dict__[_SIZE] = bound
        return new

    def to_bytes(self) -> bytes:
        """The versioned byte format of `codec`."""
        return codec.pack(self.KIND, self.body())

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode `to_bytes` output; `CrdtDecodeError` on anything else."""
        _, body = codec.unpack(data, cls.KIND)
        value = codec.checked(cls.from_body, body, cls.KIND)
        # Its size bound: a decoded value holds only what the bytes held, each part written back at
        # its shortest, so its own bytes are never longer than these.
        value.__dict__[_SIZE] = len(data)
        return value

    @classmethod
    def join_all(cls, values: Iterable[Self]) -> Self:
        """The join of many values (the empty value when there are none)."""
        result = cls.empty()
        _bytes_at_most(result)  # a few bytes to measure; the joins' bounds then follow from the items'
        for item in values:
            result = result.merge(item)
        return result


def _join_bound(a: int, b: int) -> int:
    """An upper bound of the bytes of the join of two values of `a` and `b` bytes. A join holds only
    entries of its two sides (of an entry both hold, the larger), so its bytes are at most the sum of
    theirs, plus what a list both sides have adds to its header (at most 3 bytes over the two headers
    it replaces, and such lists are fewer than the bytes of either side)."""
    return a + b + 3 * min(a, b)


def _bytes_at_most(value: Crdt) -> int:
    """An upper bound of `len(value.to_bytes())`: the one an operation left, else measured once."""
    known: int | None = value.__dict__.get(_SIZE)
    if known is None:
        known = value.__dict__[_SIZE] = codec.packed_size(value.KIND, value.body())
    return known


def entry_id(entry: Crdt) -> bytes:
    """The id anti-entropy uses for one entry: a 16-byte BLAKE2b hash of its bytes."""
    return hashlib.blake2b(entry.to_bytes(), digest_size=ENTRY_ID_BYTES).digest()


def entry_map(value: Crdt) -> dict[bytes, Crdt]:
    """Every entry of `value` by its id."""
    return {entry_id(entry): entry for entry in value.entries()}


@dataclass(frozen=True, order=True)
class Dot:
    """One event: the `counter`-th operation of `replica` (counters start at 1)."""

    replica: str
    counter: int

    def body(self) -> list[object]:
        return [self.replica, self.counter]

    @classmethod
    def from_body(cls, raw: object) -> Dot:
        replica, counter = codec.as_pair(raw, "dot")
        return cls(codec.as_str(replica, "dot replica"), codec.as_count(counter, "dot counter"))


@dataclass(frozen=True)
class VectorClock(Crdt):
    """Per replica, a count of its events. Also a CRDT itself (merge is the pointwise max).

    Stored as sorted `(replica, count)` pairs with every count positive, so equal clocks are equal
    values and encode to equal bytes. Body: `[[replica, count], ...]` sorted by replica.
    """

    counts: tuple[tuple[str, int], ...] = ()
    KIND = "VectorClock"

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> VectorClock:
        return cls(tuple(sorted((r, n) for r, n in counts.items() if n > 0)))

    @classmethod
    def empty(cls) -> Self:
        return cls()

    def as_dict(self) -> dict[str, int]:
        return dict(self.counts)

    def __getitem__(self, replica: str) -> int:
        for name, count in self.counts:
            if name == replica:
                return count
        return 0

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self.counts)

    @property
    def value(self) -> dict[str, int]:
        return self.as_dict()

    def increment(self, replica: str) -> tuple[VectorClock, VectorClock]:
        """Count one more event of `replica`; the delta is that replica's new count."""
        return self._apply(self.next_event(replica))

    def next_event(self, replica: str) -> VectorClock:
        """The delta of `increment(replica)`, checked by the value rule (for a clock that is only a
        step of another operation, e.g. a register write, whose own value is size-checked)."""
        codec.text_arg(replica, self.KIND)
        codec.count_arg(1, self.KIND, "count", minimum=1, used=self[replica])
        return VectorClock.of({replica: self[replica] + 1})

    def covers(self, dot: Dot) -> bool:
        return dot.counter <= self[dot.replica]

    def _merge(self, other: Self) -> Self:
        merged = dict(self.counts)
        for name, count in other.counts:
            merged[name] = max(merged.get(name, 0), count)
        return type(self)(tuple(sorted(merged.items())))

    def __le__(self, other: VectorClock) -> bool:
        return all(count <= other[name] for name, count in self.counts)

    def __lt__(self, other: VectorClock) -> bool:
        return self <= other and self != other

    def concurrent(self, other: VectorClock) -> bool:
        return not self <= other and not other <= self

    def version(self) -> VectorClock:
        return VectorClock(self.counts)

    def delta_since(self, version: VectorClock) -> Self:
        return type(self)(tuple((r, n) for r, n in self.counts if n > version[r]))

    def entries(self) -> Iterable[Self]:
        return [type(self)((pair,)) for pair in self.counts]

    def body(self) -> object:
        return [[r, n] for r, n in self.counts]

    @classmethod
    def from_body(cls, raw: object) -> Self:
        pairs: dict[str, int] = {}
        for item in codec.as_list(raw, "vector clock"):
            name, count = codec.as_pair(item, "vector clock entry")
            replica = codec.as_str(name, "replica")
            if replica in pairs:
                raise codec.CrdtDecodeError(f"vector clock: replica {replica!r} twice")
            pairs[replica] = codec.as_count(count, "count")
        return cls(tuple(sorted(pairs.items())))


def contiguous(dots: Iterable[Dot]) -> VectorClock:
    """Per replica, the largest n such that dots 1..n are all present (a safe `version`)."""
    seen: dict[str, set[int]] = {}
    for dot in dots:
        seen.setdefault(dot.replica, set()).add(dot.counter)
    prefix: dict[str, int] = {}
    for replica, counters in seen.items():
        n = 0
        while n + 1 in counters:
            n += 1
        prefix[replica] = n
    return VectorClock.of(prefix)
