"""A Bloom filter over byte-string ids: the digest anti-entropy exchanges (SPEC §8.3).

Sizing: for `capacity` n and target false-positive rate p, `m = ceil(-n ln p / (ln 2)^2)` bits and
`k = round(m / n * ln 2)` probes (at 1%: about 9.6 bits per entry and 7 probes). Probe positions use
double hashing over one BLAKE2b-128 digest of `seed || id` (`h1 + i * h2 mod m`), so one hash call
serves every probe. A different `seed` per round makes a false positive of one round independent of
the next, so a missing entry hidden by one is found by a later round.

Byte format (all integers big-endian), version 1:

    offset size field
    0      2    magic b"AB"
    2      1    format version (1)
    3      1    k, the number of probes (1..64)
    4      4    m, the number of bits (1..2^28)
    8      8    seed
    16     4    count of ids added (informational)
    20     ceil(m / 8)  the bit array; bit j is (byte j // 8) >> (j % 8) & 1; spare high bits are 0

`from_bytes` checks every field and the exact length and raises `BloomDecodeError` otherwise.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterable

from aura_choreo.errors import AuraChoreoError

MAGIC = b"AB"
FORMAT_VERSION = 1
MAX_BITS = 1 << 28
_HEADER = struct.Struct(">2sBBIQI")
HEADER_BYTES = _HEADER.size


class BloomDecodeError(AuraChoreoError):
    """Bytes that are not a valid serialised Bloom filter."""


def _sizing(capacity: int, fp_rate: float) -> tuple[int, int]:
    if not isinstance(capacity, int) or capacity < 1:
        raise ValueError(f"capacity must be a positive integer, got {capacity!r}")
    if not 0.0 < fp_rate < 1.0:
        raise ValueError(f"fp_rate must be between 0 and 1 (exclusive), got {fp_rate!r}")
    bits = max(8, math.ceil(-capacity * math.log(fp_rate) / (math.log(2) ** 2)))
    if bits > MAX_BITS:
        raise ValueError(f"a filter of {capacity} ids at {fp_rate} needs {bits} bits, past {MAX_BITS}")
    probes = max(1, min(64, round(bits / capacity * math.log(2))))
    return bits, probes


def _keyed(seed: int) -> hashlib.blake2b:
    return hashlib.blake2b(digest_size=16, key=seed.to_bytes(8, "big"))


class BloomFilter:
    """A set of ids with no false negatives and a bounded false-positive rate.

    Mutable on purpose (unlike the CRDTs): a digest is built by adding thousands of ids, and copying
    the bit array at each `add` would make that quadratic. `union` returns a new filter.
    """

    __slots__ = ("_bits", "_hasher", "bits", "count", "probes", "seed")

    def __init__(self, capacity: int, fp_rate: float = 0.01, *, seed: int = 0) -> None:
        self.bits, self.probes = _sizing(capacity, fp_rate)
        self.seed = seed & 0xFFFFFFFFFFFFFFFF
        self.count = 0
        self._bits = bytearray((self.bits + 7) // 8)
        self._hasher = _keyed(self.seed)

    @classmethod
    def _raw(cls, bits: int, probes: int, seed: int, count: int, array: bytearray) -> BloomFilter:
        self = cls.__new__(cls)
        self.bits, self.probes, self.seed, self.count, self._bits = bits, probes, seed, count, array
        self._hasher = _keyed(seed)
        return self

    def add(self, item: bytes) -> None:
        """Add an id."""
        self.update((item,))

    def update(self, items: Iterable[bytes]) -> None:
        """Add every id of `items` (one loop with no call per id: a digest adds thousands)."""
        array, base, m, k = self._bits, self._hasher, self.bits, self.probes
        added = 0
        for item in items:
            hasher = base.copy()
            hasher.update(item)
            both = int.from_bytes(hasher.digest(), "big")
            # (h1 + i * h2) % m for i < k, stepped by additions below m instead of big products.
            pos, step = (both >> 64) % m, (both & 0xFFFFFFFFFFFFFFFF | 1) % m
            for _ in range(k):
                array[pos >> 3] |= 1 << (pos & 7)
                pos += step
                if pos >= m:
                    pos -= m
            added += 1
        self.count += added

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, bytes | bytearray):
            return False
        return not self.absent((bytes(item),))

    def absent(self, items: Iterable[bytes]) -> list[int]:
        """The indexes (in `items`' order) of the ids surely not added: the ones some probe misses."""
        array, base, m, k = self._bits, self._hasher, self.bits, self.probes
        missing = []
        for index, item in enumerate(items):
            hasher = base.copy()
            hasher.update(item)
            both = int.from_bytes(hasher.digest(), "big")
            pos, step = (both >> 64) % m, (both & 0xFFFFFFFFFFFFFFFF | 1) % m
            for _ in range(k):
                if not array[pos >> 3] >> (pos & 7) & 1:
                    missing.append(index)
                    break
                pos += step
                if pos >= m:
                    pos -= m
        return missing

    def compatible(self, other: BloomFilter) -> bool:
        return (self.bits, self.probes, self.seed) == (other.bits, other.probes, other.seed)

    def union(self, other: BloomFilter) -> BloomFilter:
        """A filter holding the ids of both (they must share size, probes and seed)."""
        if not self.compatible(other):
            raise ValueError("only filters with the same size, probe count and seed can be joined")
        merged = int.from_bytes(self._bits, "little") | int.from_bytes(other._bits, "little")
        array = bytearray(merged.to_bytes(len(self._bits), "little"))
        return BloomFilter._raw(self.bits, self.probes, self.seed, self.count + other.count, array)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BloomFilter) and self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __len__(self) -> int:
        return self.count

    def to_bytes(self) -> bytes:
        """The documented byte format (see the module docstring)."""
        header = _HEADER.pack(MAGIC, FORMAT_VERSION, self.probes, self.bits, self.seed, self.count)
        return header + bytes(self._bits)

    @classmethod
    def from_bytes(cls, data: bytes) -> BloomFilter:
        """Decode `to_bytes` output; `BloomDecodeError` on anything else."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise BloomDecodeError(f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) < HEADER_BYTES:
            raise BloomDecodeError(f"a Bloom filter has a {HEADER_BYTES}-byte header; got {len(data)} bytes")
        magic, version, probes, bits, seed, count = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise BloomDecodeError("not a Bloom filter (bad magic)")
        if version != FORMAT_VERSION:
            raise BloomDecodeError(f"unsupported Bloom filter version {version} (this build reads 1)")
        if not 1 <= probes <= 64 or not 1 <= bits <= MAX_BITS:
            raise BloomDecodeError(f"Bloom filter header out of range (k={probes}, m={bits})")
        body = data[HEADER_BYTES:]
        if len(body) != (bits + 7) // 8:
            raise BloomDecodeError(
                f"Bloom filter of {bits} bits needs {(bits + 7) // 8} bytes, got {len(body)}"
            )
        if bits % 8 and body[-1] >> (bits % 8):
            raise BloomDecodeError("Bloom filter has bits set past its size")
        return cls._raw(bits, probes, seed, count, bytearray(body))
