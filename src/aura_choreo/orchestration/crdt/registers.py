"""Registers: `LWWRegister` (last writer wins) and `MVRegister` (concurrent writes kept as siblings)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Self

from aura_choreo.orchestration.crdt import codec
from aura_choreo.orchestration.crdt.base import Crdt, VectorClock
from aura_choreo.orchestration.crdt.codec import Value


@dataclass(frozen=True)
class LWWRegister(Crdt):
    """The write with the largest `(timestamp, writer, encoded value)` wins.

    Timestamps are Lamport times: an assign uses at least one more than the timestamp it replaces, so
    a write made after seeing another always wins, and each replica's writes grow. `clock` counts the
    assigns each replica made (the version). Body: `[timestamp, writer, value, clock]`.
    """

    timestamp: int = 0
    writer: str = ""
    current: Value = None
    clock: VectorClock = field(default_factory=VectorClock)
    KIND = "LWWRegister"

    @classmethod
    def empty(cls) -> Self:
        return cls()

    @property
    def value(self) -> Value:
        return self.current

    def _rank(self) -> tuple[int, str, bytes]:
        return (self.timestamp, self.writer, codec.encode_value(self.current))

    def assign(
        self, replica: str, value: Value, timestamp: int | None = None
    ) -> tuple[LWWRegister, LWWRegister]:
        """Write `value`; `timestamp` (e.g. wall-clock ms) is raised past the current one if needed."""
        codec.text_arg(replica, self.KIND)
        codec.value_arg(value, self.KIND)
        if timestamp is not None:
            codec.count_arg(timestamp, self.KIND, "timestamp", minimum=0)
        codec.count_arg(1, self.KIND, "count", minimum=1, used=self.clock[replica])
        stamp = max(self.timestamp + 1, timestamp if timestamp is not None else 0)
        codec.count_arg(stamp, self.KIND, "timestamp", minimum=0)  # the current one + 1 may not fit
        delta = LWWRegister(stamp, replica, value, VectorClock.of({replica: self.clock[replica] + 1}))
        return self._apply(delta)

    def _merge(self, other: Self) -> Self:
        winner = self if self._rank() >= other._rank() else other
        return type(self)(winner.timestamp, winner.writer, winner.current, self.clock.merge(other.clock))

    def version(self) -> VectorClock:
        return self.clock

    def delta_since(self, version: VectorClock) -> Self:
        return self.empty() if self.clock <= version else self

    def entries(self) -> Iterable[Self]:
        return [] if self.is_empty() else [self]

    def body(self) -> object:
        return [self.timestamp, self.writer, self.current, self.clock.body()]

    @classmethod
    def from_body(cls, raw: object) -> Self:
        items = codec.as_list(raw, "LWWRegister")
        if len(items) != 4:
            raise codec.CrdtDecodeError("LWWRegister: expected [timestamp, writer, value, clock]")
        return cls(
            codec.as_count(items[0], "timestamp", minimum=0),
            codec.as_str(items[1], "writer"),
            codec.as_value(items[2], "value"),
            VectorClock.from_body(items[3]),
        )


@dataclass(frozen=True)
class Sibling:
    """One write of an `MVRegister`: its value, its writer and the clock it was written at."""

    writer: str
    clock: VectorClock
    current: Value

    def body(self) -> list[object]:
        return [self.writer, self.clock.body(), self.current]

    @classmethod
    def from_body(cls, raw: object) -> Sibling:
        items = codec.as_list(raw, "sibling")
        if len(items) != 3:
            raise codec.CrdtDecodeError("sibling: expected [writer, clock, value]")
        writer = codec.as_str(items[0], "writer")
        clock = VectorClock.from_body(items[1])
        if clock[writer] < 1:
            raise codec.CrdtDecodeError("sibling: its clock must count its own write")
        return cls(writer, clock, codec.as_value(items[2], "value"))

    def _key(self) -> tuple[str, tuple[tuple[str, int], ...], bytes]:
        return (self.writer, self.clock.counts, codec.encode_value(self.current))


def _maximal(siblings: Iterable[Sibling]) -> frozenset[Sibling]:
    pool = set(siblings)
    return frozenset(s for s in pool if not any(s.clock < t.clock for t in pool))


@dataclass(frozen=True)
class MVRegister(Crdt):
    """A multi-value register: a write replaces what its writer had seen; concurrent writes all stay.

    The state is an antichain of siblings (no sibling's clock below another's); merge keeps the
    maximal siblings of the union. `value` is the siblings' values (one unless writes were
    concurrent). Body: `[[writer, clock, value], ...]` sorted by (writer, clock).
    """

    siblings: frozenset[Sibling] = frozenset()
    KIND = "MVRegister"

    @classmethod
    def empty(cls) -> Self:
        return cls()

    @property
    def value(self) -> tuple[Value, ...]:
        return tuple(s.current for s in self._sorted())

    def _sorted(self) -> list[Sibling]:
        return sorted(self.siblings, key=Sibling._key)

    @classmethod
    def written(cls, replica: str, clock: VectorClock, value: Value) -> MVRegister:
        """One write of `value` by `replica` at `clock` (which must count it), as a register: what a
        write that carries its own context ships (`StorageCoordinator.put`). The value rule applies
        as in `assign` (`CrdtValueError`), so what it builds always round-trips."""
        codec.text_arg(replica, cls.KIND)
        codec.value_arg(value, cls.KIND)
        if clock[replica] < 1:
            raise codec.CrdtValueError(f"{cls.KIND}: a write's clock must count the write ({replica!r} is 0)")
        return cls(frozenset({Sibling(replica, clock, value)}))

    def assign(self, replica: str, value: Value) -> tuple[MVRegister, MVRegister]:
        """Write `value` over every sibling this replica holds."""
        codec.text_arg(replica, self.KIND)
        codec.value_arg(value, self.KIND)
        seen = self.version()
        clock = seen.merge(seen.next_event(replica))
        delta = MVRegister(frozenset({Sibling(replica, clock, value)}))
        return self._apply(delta)

    def resolve(
        self, replica: str, merge: Callable[[tuple[Value, ...]], Value] | None = None
    ) -> tuple[MVRegister, MVRegister]:
        """Collapse the siblings into one write: `merge(values)` (a callable) or the first value."""
        values = self.value
        chosen = merge(values) if merge is not None else (values[0] if values else None)
        return self.assign(replica, chosen)

    def _merge(self, other: Self) -> Self:
        return type(self)(_maximal(self.siblings | other.siblings))

    def version(self) -> VectorClock:
        return VectorClock.join_all(s.clock for s in self.siblings)

    def delta_since(self, version: VectorClock) -> Self:
        return type(self)(frozenset(s for s in self.siblings if s.clock[s.writer] > version[s.writer]))

    def entries(self) -> Iterable[Self]:
        return [type(self)(frozenset({s})) for s in self.siblings]

    def body(self) -> object:
        return [s.body() for s in self._sorted()]

    @classmethod
    def from_body(cls, raw: object) -> Self:
        siblings = [Sibling.from_body(item) for item in codec.as_list(raw, "MVRegister")]
        antichain = _maximal(siblings)
        if len(antichain) != len(siblings):
            raise codec.CrdtDecodeError("MVRegister: a sibling is dominated by another (or repeated)")
        return cls(antichain)
