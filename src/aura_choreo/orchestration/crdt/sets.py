"""`ORSet`: an observed-remove set where a concurrent add wins over a remove."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Self, TypeVar

from aura_choreo.orchestration.crdt import codec
from aura_choreo.orchestration.crdt.base import Crdt, Dot, VectorClock
from aura_choreo.orchestration.crdt.codec import Element

T = TypeVar("T")


def _dot_key(dot: Dot) -> tuple[str, int]:
    # The same order as Dot's own (replica, counter), without a Python-level comparison per step.
    return (dot.replica, dot.counter)


@dataclass(frozen=True)
class Tombstone:
    """One remove: its own dot, and the add dots it observed (and so removes)."""

    dot: Dot
    removed: frozenset[Dot]

    def body(self) -> list[object]:
        return [self.dot.body(), [d.body() for d in sorted(self.removed, key=_dot_key)]]

    @classmethod
    def from_body(cls, raw: object) -> Tombstone:
        dot, removed = codec.as_pair(raw, "tombstone")
        return cls(Dot.from_body(dot), frozenset(Dot.from_body(d) for d in codec.as_list(removed, "removed")))


@dataclass(frozen=True)
class _Seen:
    """The dots a set holds, per replica: the contiguous prefix 1..n, and the counters held above n.

    Derived and carried along like `tops`: the join of two sets' `_Seen` is the `_Seen` of their union
    (a dot at or below either side's prefix is in the union), computed from the counters above the
    prefixes only, so `version()` of a merged set costs the gaps, not the size of the set.
    """

    prefix: Mapping[str, int]
    above: Mapping[str, frozenset[int]]

    @classmethod
    def of(cls, dots: Iterable[Dot], floor: VectorClock) -> _Seen:
        """The dots held, where every dot at or below `floor` counts as held (see `ORSet.collect`)."""
        seen: dict[str, set[int]] = {}
        for dot in dots:
            seen.setdefault(dot.replica, set()).add(dot.counter)
        start = floor.as_dict()
        return cls._settle({r: (start.get(r, 0), seen.get(r, set())) for r in seen.keys() | start.keys()})

    def join(self, other: _Seen) -> _Seen:
        if not other.prefix:
            return self
        merged: dict[str, tuple[int, set[int] | frozenset[int]]] = {}
        for replica in self.prefix.keys() | other.prefix.keys():
            n = max(self.prefix.get(replica, 0), other.prefix.get(replica, 0))
            mine, theirs = self.above.get(replica, frozenset()), other.above.get(replica, frozenset())
            merged[replica] = (n, mine | theirs if theirs else mine)
        return _Seen._settle(merged)

    @staticmethod
    def _settle(counters: Mapping[str, tuple[int, set[int] | frozenset[int]]]) -> _Seen:
        prefix: dict[str, int] = {}
        above: dict[str, frozenset[int]] = {}
        for replica, (n, held) in counters.items():
            while n + 1 in held:
                n += 1
            prefix[replica] = n
            rest = frozenset(c for c in held if c > n) if held else frozenset()
            if rest:
                above[replica] = rest
        return _Seen(prefix, above)

    def version(self) -> VectorClock:
        return VectorClock.of(self.prefix)

    def tops(self) -> VectorClock:
        return VectorClock.of({r: max(n, *self.above.get(r, (0,))) for r, n in self.prefix.items()})


@dataclass(frozen=True)
class ORSet(Crdt):
    """Add-wins observed-remove set.

    Every add tags its element with a fresh dot; a remove records (with a dot of its own) the tags it
    saw, so an add it did not see - a concurrent one - survives it. Both sets only grow (tombstones
    are kept), which makes merge a plain union and every add and remove an entry anti-entropy can
    ship on its own. Body: `[[[element, dot], ...], [[dot, [dot, ...]], ...]]`, sorted.

    Tombstones are collected once causally stable (`collect`): when every replica holds every dot up
    to a version (`stable_version` of all replicas' versions), a remove and the adds it removed, all
    below it, can never be needed again and are dropped. The set keeps that version as its `floor`:
    a dot at or below the floor that the set lacks was collected, so merge drops it when a replica
    that has not collected yet (or a stale delta) brings it back. Without a floor, merge is the plain
    union and the bytes are as before; with one, the body has a third item, the floor's body.
    """

    adds: frozenset[tuple[Element, Dot]] = frozenset()
    removes: frozenset[Tombstone] = frozenset()
    tops: VectorClock | None = field(default=None, compare=False, repr=False)
    """Derived: each replica's largest dot counter, carried along so an operation need not scan."""
    seen: _Seen | None = field(default=None, compare=False, repr=False)
    """Derived: the dots held (see `_Seen`), carried along so `version()` need not scan."""
    floor: VectorClock = VectorClock()  # noqa: RUF009 - an immutable value, shared safely
    """Every replica held every dot up to here when this set collected below it (see `collect`)."""
    KIND = "ORSet"

    def __post_init__(self) -> None:
        if self.seen is None:
            object.__setattr__(self, "seen", _Seen.of(self._dots(), self.floor))
        if self.tops is None:
            object.__setattr__(self, "tops", self._seen().tops())

    def _seen(self) -> _Seen:
        assert self.seen is not None  # set in __post_init__
        return self.seen

    @classmethod
    def empty(cls) -> Self:
        return cls()

    def _removed(self) -> set[Dot]:
        return {d for t in self.removes for d in t.removed}

    @property
    def value(self) -> frozenset[Element]:
        removed = self._removed()
        return frozenset(e for e, d in self.adds if d not in removed)

    def __contains__(self, element: object) -> bool:
        return element in self.value

    def _top(self) -> VectorClock:
        assert self.tops is not None  # set in __post_init__
        return self.tops

    def _next_dot(self, replica: str) -> Dot:
        return Dot(replica, self._top()[replica] + 1)

    def _dots(self) -> Iterable[Dot]:
        yield from (d for _, d in self.adds)
        yield from (t.dot for t in self.removes)

    def _checked(self, replica: str, element: Element) -> None:
        codec.text_arg(replica, self.KIND)
        codec.element_arg(element, self.KIND)
        codec.count_arg(1, self.KIND, "count", minimum=1, used=self._top()[replica])

    def add(self, replica: str, element: Element) -> tuple[ORSet, ORSet]:
        self._checked(replica, element)
        delta = ORSet(frozenset({(element, self._next_dot(replica))}))
        return self._apply(delta)

    def remove(self, replica: str, element: Element) -> tuple[ORSet, ORSet]:
        """Remove the adds of `element` seen here (a no-op with an empty delta when there are none)."""
        self._checked(replica, element)
        removed = self._removed()
        tags = frozenset(d for e, d in self.adds if e == element and d not in removed)
        if not tags:
            return self, ORSet()
        delta = ORSet(removes=frozenset({Tombstone(self._next_dot(replica), tags)}))
        return self._apply(delta)

    def _merge(self, other: Self) -> Self:
        adds, removes, floor = self.adds | other.adds, self.removes | other.removes, self.floor
        if self.floor.counts or other.floor.counts:
            floor = self.floor.merge(other.floor)
            # What one side lacks at or below its own floor it collected: the union must not revive it.
            mine, theirs = self.floor.as_dict(), other.floor.as_dict()
            dead_adds = _collected(other.adds - self.adds, mine, lambda a: a[1])
            dead_adds |= _collected(self.adds - other.adds, theirs, lambda a: a[1])
            dead_removes = _collected(other.removes - self.removes, mine, lambda t: t.dot)
            dead_removes |= _collected(self.removes - other.removes, theirs, lambda t: t.dot)
            adds, removes = adds - dead_adds, removes - dead_removes
        return type(self)(
            adds, removes, self._top().merge(other._top()), self._seen().join(other._seen()), floor
        )

    def collect(self, stable: VectorClock) -> ORSet:
        """Drop every tombstone whose dot and removed dots are all at or below `stable`, with the
        adds it removed. `stable` must be causally stable: every replica (this one included) holds
        every dot up to it, e.g. `stable_version` of all replicas' versions. The value is unchanged."""
        if not stable <= self.version():
            raise ValueError(f"cannot collect below {stable}: this set holds only up to {self.version()}")
        floor = self.floor.merge(stable)
        limit = floor.as_dict()

        def below(dot: Dot) -> bool:
            return dot.counter <= limit.get(dot.replica, 0)

        gone = frozenset(t for t in self.removes if below(t.dot) and all(below(d) for d in t.removed))
        dead = {d for t in gone for d in t.removed}
        adds = frozenset(a for a in self.adds if a[1] not in dead) if dead else self.adds
        return ORSet(adds, self.removes - gone, floor=floor)

    def version(self) -> VectorClock:
        return self._seen().version()

    def delta_since(self, version: VectorClock) -> Self:
        known = version.as_dict()
        if all(n <= known.get(r, 0) for r, n in self._top().counts):
            return type(self)()  # the peer has every dot: the common case of a sync, without a scan
        return type(self)(
            frozenset(a for a in self.adds if a[1].counter > known.get(a[1].replica, 0)),
            frozenset(t for t in self.removes if t.dot.counter > known.get(t.dot.replica, 0)),
        )

    def entries(self) -> Iterable[Self]:
        return [
            *(type(self)(frozenset({a})) for a in self.adds),
            *(type(self)(removes=frozenset({t})) for t in self.removes),
        ]

    def body(self) -> object:
        adds = sorted(self.adds, key=lambda a: (a[1].replica, a[1].counter, codec.sort_key(a[0])))
        body = [
            [[e, d.body()] for e, d in adds],
            [t.body() for t in sorted(self.removes, key=lambda t: _dot_key(t.dot))],
        ]
        return [*body, self.floor.body()] if self.floor.counts else body

    @classmethod
    def from_body(cls, raw: object) -> Self:
        items = codec.as_list(raw, "ORSet")
        if len(items) not in (2, 3):
            raise codec.CrdtDecodeError("ORSet: expected [adds, removes] or [adds, removes, floor]")
        adds_raw, removes_raw = items[0], items[1]
        floor = VectorClock.from_body(items[2]) if len(items) == 3 else VectorClock()
        adds = []
        for item in codec.as_list(adds_raw, "ORSet adds"):
            element, dot = codec.as_pair(item, "ORSet add")
            adds.append((codec.as_element(element, "element"), Dot.from_body(dot)))
        removes = [Tombstone.from_body(t) for t in codec.as_list(removes_raw, "ORSet removes")]
        return cls(frozenset(adds), frozenset(removes), floor=floor)


def stable_version(versions: Iterable[VectorClock]) -> VectorClock:
    """The pointwise minimum of every replica's version: the dots all of them hold (causally stable).
    Pass the versions of every replica of the set, or the result is not stable."""
    clocks = [v.as_dict() for v in versions]
    if not clocks:
        return VectorClock()
    shared = set(clocks[0]).intersection(*clocks[1:])
    return VectorClock.of({r: min(c[r] for c in clocks) for r in shared})


def _collected(items: Iterable[T], floor: Mapping[str, int], dot_of: Callable[[T], Dot]) -> set[T]:
    """The items at or below `floor` (called with what the side owning `floor` lacks)."""
    if not floor:
        return set()
    return {item for item in items if dot_of(item).counter <= floor.get(dot_of(item).replica, 0)}
