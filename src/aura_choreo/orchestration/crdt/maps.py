"""`ORMap`: string keys (an add-wins `ORSet`) to nested CRDTs; and decoding any CRDT by its kind."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

from aura_choreo.orchestration.crdt import codec
from aura_choreo.orchestration.crdt.base import Crdt, VectorClock
from aura_choreo.orchestration.crdt.counters import GCounter, PNCounter
from aura_choreo.orchestration.crdt.registers import LWWRegister, MVRegister
from aura_choreo.orchestration.crdt.sets import ORSet

C = TypeVar("C", bound=Crdt)

_KEYSET = "k"


def _scoped(scope: list[str], replica: str) -> str:
    # A JSON list is an unambiguous name whatever the key and replica contain.
    return json.dumps([*scope, replica])


def _unscope(version: VectorClock, scope: list[str]) -> VectorClock:
    found: dict[str, int] = {}
    for name, count in version.counts:
        try:
            parts = json.loads(name)
        except ValueError:
            continue
        if isinstance(parts, list) and len(parts) == len(scope) + 1 and parts[:-1] == scope:
            found[str(parts[-1])] = count
    return VectorClock.of(found)


def _rescope(version: VectorClock, scope: list[str]) -> dict[str, int]:
    return {_scoped(scope, name): count for name, count in version.counts}


@dataclass(frozen=True)
class ORMap(Crdt):
    """A map whose keys form an add-wins `ORSet` and whose values are CRDTs merged per key.

    `update` (re)asserts its key, so an update concurrent with a remove keeps the key (add-wins). A
    removed key's nested value is hidden, not reset: re-adding the key continues from it. Values of
    one key must be of one CRDT type on every replica (`CrdtMergeError` otherwise). Body:
    `[keys, [[key, kind, body], ...]]` with keys the `ORSet` body and entries sorted by key.
    """

    keys: ORSet = field(default_factory=ORSet)
    values: tuple[tuple[str, Crdt], ...] = ()
    KIND = "ORMap"

    @classmethod
    def empty(cls) -> Self:
        return cls()

    @classmethod
    def _of(cls, keys: ORSet, values: Mapping[str, Crdt]) -> Self:
        return cls(keys, tuple(sorted((k, v) for k, v in values.items() if not v.is_empty())))

    def nested(self) -> dict[str, Crdt]:
        """Every key's nested value, including hidden (removed) keys."""
        return dict(self.values)

    @property
    def value(self) -> dict[str, Any]:
        present = self.keys.value
        return {k: v.value for k, v in self.values if k in present}

    def get(self, key: str, default: C) -> C:
        found = self.nested().get(key)
        return found if isinstance(found, type(default)) else default

    def update(
        self, replica: str, key: str, default: C, op: Callable[[C], tuple[C, C]]
    ) -> tuple[ORMap, ORMap]:
        """Apply `op` (a CRDT operation returning `(new, delta)`) to `key`'s value (`default` if absent)."""
        codec.text_arg(key, self.KIND, "key")
        _, key_delta = self.keys.add(replica, key)
        _, value_delta = op(self.get(key, default))
        delta = ORMap._of(key_delta, {key: value_delta})
        return self._apply(delta)

    def remove(self, replica: str, key: str) -> tuple[ORMap, ORMap]:
        codec.text_arg(key, self.KIND, "key")
        _, key_delta = self.keys.remove(replica, key)
        delta = ORMap(key_delta)
        return self._apply(delta)

    def _merge(self, other: Self) -> Self:
        merged = self.nested()
        for key, theirs in other.values:
            mine = merged.get(key)
            if mine is None:
                merged[key] = theirs
            elif type(mine) is not type(theirs):
                raise codec.CrdtMergeError(
                    f"key {key!r} holds a {mine.KIND} here and a {theirs.KIND} there: one key, one CRDT type"
                )
            else:
                merged[key] = mine.merge(theirs)
        return type(self)._of(self.keys.merge(other.keys), merged)

    def collect(self, stable: VectorClock) -> ORMap:
        """`ORSet.collect` for the key set and every nested `ORSet` or `ORMap`, each at its own scope
        of `stable` (causally stable: `stable_version` of every replica's `version()`)."""
        values = {k: _collect(v, _unscope(stable, ["v", k])) for k, v in self.values}
        return ORMap._of(self.keys.collect(_unscope(stable, [_KEYSET])), values)

    def version(self) -> VectorClock:
        counts = _rescope(self.keys.version(), [_KEYSET])
        for key, nested in self.values:
            counts.update(_rescope(nested.version(), ["v", key]))
        return VectorClock.of(counts)

    def delta_since(self, version: VectorClock) -> Self:
        return type(self)._of(
            self.keys.delta_since(_unscope(version, [_KEYSET])),
            {k: v.delta_since(_unscope(version, ["v", k])) for k, v in self.values},
        )

    def entries(self) -> Iterable[Self]:
        yield from (type(self)(e) for e in self.keys.entries())
        for key, nested in self.values:
            yield from (type(self)(values=((key, e),)) for e in nested.entries())

    def body(self) -> object:
        return [self.keys.body(), [[k, v.KIND, v.body()] for k, v in self.values]]

    @classmethod
    def from_body(cls, raw: object) -> Self:
        keys_raw, values_raw = codec.as_pair(raw, "ORMap")
        values: dict[str, Crdt] = {}
        for item in codec.as_list(values_raw, "ORMap values"):
            parts = codec.as_list(item, "ORMap value")
            if len(parts) != 3:
                raise codec.CrdtDecodeError("ORMap value: expected [key, kind, body]")
            key = codec.as_str(parts[0], "key")
            if key in values:
                raise codec.CrdtDecodeError(f"ORMap: key {key!r} twice")
            values[key] = kind_class(codec.as_str(parts[1], "kind")).from_body(parts[2])
        return cls._of(ORSet.from_body(keys_raw), values)


def _collect(value: Crdt, stable: VectorClock) -> Crdt:
    return value.collect(stable) if isinstance(value, ORSet | ORMap) else value


KINDS: Mapping[str, type[Crdt]] = {
    c.KIND: c for c in (VectorClock, GCounter, PNCounter, LWWRegister, MVRegister, ORSet, ORMap)
}
"""Every CRDT type by its `KIND` (the name in the byte format)."""


def kind_class(kind: str) -> type[Crdt]:
    found = KINDS.get(kind)
    if found is None:
        raise codec.CrdtDecodeError(f"unknown CRDT kind {kind!r} (known: {', '.join(sorted(KINDS))})")
    return found


def decode(data: bytes) -> Crdt:
    """Decode serialised bytes of any CRDT type (`CrdtDecodeError` on anything else)."""
    kind, body = codec.unpack(data)
    cls = kind_class(kind)
    return codec.checked(cls.from_body, body, kind)
