"""What every CRDT offers (SPEC §8.1), and the entry ids anti-entropy digests.

A CRDT here is an immutable value of a join-semilattice:

- `merge(other)` is the join (commutative, associative, idempotent);
- each operation returns `(new value, delta)` with `new == old.merge(delta)`, and the delta is small;
- `version()` summarises what the value holds as a `VectorClock`, and `delta_since(version)` is what
  a replica at that version lacks (`old.merge(new.delta_since(old.version())) == old.merge(new)`);
- `entries()` splits the value into atomic pieces whose join is the value again: anti-entropy puts
  their ids (`entry_id`, a hash of the piece's bytes) in a Bloom filter and ships only the pieces the
  other side lacks.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Self

from aura_choreo.orchestration.crdt import codec

if TYPE_CHECKING:
    from aura_choreo.orchestration.crdt.clock import VectorClock

ENTRY_ID_BYTES = 16


class Crdt(ABC):
    """The interface of every CRDT value. Subclasses are frozen dataclasses."""

    KIND = ""

    @classmethod
    @abstractmethod
    def empty(cls) -> Self:
        """The bottom of the lattice (merging it changes nothing)."""

    @abstractmethod
    def merge(self, other: Self) -> Self:
        """The join of two values."""

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

    def to_bytes(self) -> bytes:
        """The versioned byte format of `codec`."""
        return codec.pack(self.KIND, self.body())

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode `to_bytes` output; `CrdtDecodeError` on anything else."""
        _, body = codec.unpack(data, cls.KIND)
        return codec.checked(cls.from_body, body, cls.KIND)

    @classmethod
    def join_all(cls, values: Iterable[Self]) -> Self:
        """The join of many values (the empty value when there are none)."""
        result = cls.empty()
        for item in values:
            result = result.merge(item)
        return result


def entry_id(entry: Crdt) -> bytes:
    """The id anti-entropy uses for one entry: a 16-byte BLAKE2b hash of its bytes."""
    return hashlib.blake2b(entry.to_bytes(), digest_size=ENTRY_ID_BYTES).digest()


def entry_map(value: Crdt) -> dict[bytes, Crdt]:
    """Every entry of `value` by its id."""
    return {entry_id(entry): entry for entry in value.entries()}
