"""`ORSet`: an observed-remove set where a concurrent add wins over a remove."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Self

from aura_choreo.orchestration.crdt import codec
from aura_choreo.orchestration.crdt.base import Crdt, Dot, VectorClock
from aura_choreo.orchestration.crdt.codec import Element


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
    def of(cls, dots: Iterable[Dot]) -> _Seen:
        seen: dict[str, set[int]] = {}
        for dot in dots:
            seen.setdefault(dot.replica, set()).add(dot.counter)
        return cls._settle({r: (0, counters) for r, counters in seen.items()})

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
    """

    adds: frozenset[tuple[Element, Dot]] = frozenset()
    removes: frozenset[Tombstone] = frozenset()
    tops: VectorClock | None = field(default=None, compare=False, repr=False)
    """Derived: each replica's largest dot counter, carried along so an operation need not scan."""
    seen: _Seen | None = field(default=None, compare=False, repr=False)
    """Derived: the dots held (see `_Seen`), carried along so `version()` need not scan."""
    KIND = "ORSet"

    def __post_init__(self) -> None:
        if self.seen is None:
            object.__setattr__(self, "seen", _Seen.of(self._dots()))
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

    def add(self, replica: str, element: Element) -> tuple[ORSet, ORSet]:
        delta = ORSet(frozenset({(element, self._next_dot(replica))}))
        return self.merge(delta), delta

    def remove(self, replica: str, element: Element) -> tuple[ORSet, ORSet]:
        """Remove the adds of `element` seen here (a no-op with an empty delta when there are none)."""
        removed = self._removed()
        tags = frozenset(d for e, d in self.adds if e == element and d not in removed)
        if not tags:
            return self, ORSet()
        delta = ORSet(removes=frozenset({Tombstone(self._next_dot(replica), tags)}))
        return self.merge(delta), delta

    def merge(self, other: Self) -> Self:
        return type(self)(
            self.adds | other.adds,
            self.removes | other.removes,
            self._top().merge(other._top()),
            self._seen().join(other._seen()),
        )

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
        return [
            [[e, d.body()] for e, d in adds],
            [t.body() for t in sorted(self.removes, key=lambda t: _dot_key(t.dot))],
        ]

    @classmethod
    def from_body(cls, raw: object) -> Self:
        adds_raw, removes_raw = codec.as_pair(raw, "ORSet")
        adds = []
        for item in codec.as_list(adds_raw, "ORSet adds"):
            element, dot = codec.as_pair(item, "ORSet add")
            adds.append((codec.as_element(element, "element"), Dot.from_body(dot)))
        removes = [Tombstone.from_body(t) for t in codec.as_list(removes_raw, "ORSet removes")]
        return cls(frozenset(adds), frozenset(removes))
