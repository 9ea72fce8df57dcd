"""Counters: `GCounter` (grow-only) and `PNCounter` (increments and decrements)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Self

from aura_choreo.orchestration.crdt import codec
from aura_choreo.orchestration.crdt.base import Crdt, VectorClock


def _checked(kind: str, replica: str, amount: int, used: int) -> None:
    """The counters' value rule: a replica id, and a positive int amount that keeps the replica's
    count (`used` before it) within what the byte format carries."""
    codec.text_arg(replica, kind)
    codec.count_arg(amount, kind, "amount", minimum=1, used=used)


@dataclass(frozen=True)
class GCounter(Crdt):
    """A grow-only counter: one count per replica, value = their sum, merge = pointwise max.

    Body: the counts as a vector clock body, `[[replica, count], ...]`. Each replica's count is its
    own version, so `delta_since` ships exactly the replicas that moved.
    """

    counts: VectorClock = field(default_factory=VectorClock)
    KIND = "GCounter"

    @classmethod
    def empty(cls) -> Self:
        return cls()

    @property
    def value(self) -> int:
        return sum(n for _, n in self.counts.counts)

    def increment(self, replica: str, amount: int = 1) -> tuple[GCounter, GCounter]:
        _checked(self.KIND, replica, amount, self.counts[replica])
        delta = GCounter(VectorClock.of({replica: self.counts[replica] + amount}))
        return self._apply(delta)

    def _merge(self, other: Self) -> Self:
        return type(self)(self.counts.merge(other.counts))

    def version(self) -> VectorClock:
        return self.counts

    def delta_since(self, version: VectorClock) -> Self:
        return type(self)(self.counts.delta_since(version))

    def entries(self) -> Iterable[Self]:
        return [type(self)(entry) for entry in self.counts.entries()]

    def body(self) -> object:
        return self.counts.body()

    @classmethod
    def from_body(cls, raw: object) -> Self:
        return cls(VectorClock.from_body(raw))


@dataclass(frozen=True)
class PNCounter(Crdt):
    """Two grow-only counters: value = increments - decrements.

    Body: `[increments, decrements]`, each a `GCounter` body. A replica's version is the sum of its
    two counts: both only grow, and only that replica writes them, so a larger sum is a later state.
    """

    increments: GCounter = field(default_factory=GCounter)
    decrements: GCounter = field(default_factory=GCounter)
    KIND = "PNCounter"

    @classmethod
    def empty(cls) -> Self:
        return cls()

    @property
    def value(self) -> int:
        return self.increments.value - self.decrements.value

    def _room(self, replica: str, amount: int) -> None:
        # A replica's version is the sum of its two counts, and the version is shipped too.
        _checked(self.KIND, replica, amount, self.version()[replica])

    def increment(self, replica: str, amount: int = 1) -> tuple[PNCounter, PNCounter]:
        self._room(replica, amount)
        _, delta = self.increments.increment(replica, amount)
        d = PNCounter(delta, GCounter())
        return self._apply(d)

    def decrement(self, replica: str, amount: int = 1) -> tuple[PNCounter, PNCounter]:
        self._room(replica, amount)
        _, delta = self.decrements.increment(replica, amount)
        d = PNCounter(GCounter(), delta)
        return self._apply(d)

    def _merge(self, other: Self) -> Self:
        return type(self)(self.increments.merge(other.increments), self.decrements.merge(other.decrements))

    def version(self) -> VectorClock:
        p, n = self.increments.counts, self.decrements.counts
        return VectorClock.of({r: p[r] + n[r] for r in {*p, *n}})

    def delta_since(self, version: VectorClock) -> Self:
        mine = self.version()
        moved = {r for r in mine if mine[r] > version[r]}
        return type(self)(
            GCounter(VectorClock(tuple(x for x in self.increments.counts.counts if x[0] in moved))),
            GCounter(VectorClock(tuple(x for x in self.decrements.counts.counts if x[0] in moved))),
        )

    def entries(self) -> Iterable[Self]:
        return [
            *(type(self)(e, GCounter()) for e in self.increments.entries()),
            *(type(self)(GCounter(), e) for e in self.decrements.entries()),
        ]

    def body(self) -> object:
        return [self.increments.body(), self.decrements.body()]

    @classmethod
    def from_body(cls, raw: object) -> Self:
        p, n = codec.as_pair(raw, "PNCounter")
        return cls(GCounter.from_body(p), GCounter.from_body(n))
