"""Vector clocks and dots: the causal bookkeeping every other CRDT builds on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Self

from aura_choreo.orchestration.crdt import codec
from aura_choreo.orchestration.crdt.base import Crdt


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
        delta = VectorClock.of({replica: self[replica] + 1})
        return self.merge(delta), delta

    def covers(self, dot: Dot) -> bool:
        return dot.counter <= self[dot.replica]

    def merge(self, other: Self) -> Self:
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
