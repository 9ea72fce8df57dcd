"""The Bloom filter digest: no false negatives, the promised false-positive rate, a strict byte format."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aura_choreo.orchestration.bloom import HEADER_BYTES, BloomDecodeError, BloomFilter


def _ids(rng: random.Random, n: int) -> list[bytes]:
    return [rng.randbytes(16) for _ in range(n)]


def test_no_false_negative_over_100k_random_ids() -> None:
    rng = random.Random(1)
    ids = _ids(rng, 100_000)
    bloom = BloomFilter(100_000, 0.01, seed=7)
    for item in ids:
        bloom.add(item)
    assert all(item in bloom for item in ids)


@pytest.mark.parametrize("fp_rate", [0.01, 0.001])
def test_false_positive_rate_at_capacity_is_within_1_5x_of_the_target(fp_rate: float) -> None:
    rng = random.Random(2)
    bloom = BloomFilter(10_000, fp_rate, seed=3)
    for item in _ids(rng, 10_000):
        bloom.add(item)
    probes = 100_000
    measured = sum(item in bloom for item in _ids(rng, probes)) / probes
    print(f"target {fp_rate}, measured {measured:.5f} ({bloom.bits} bits, {bloom.probes} probes)")
    assert measured <= 1.5 * fp_rate


def test_sizing_follows_the_textbook_formula() -> None:
    bloom = BloomFilter(1000, 0.01)
    assert 9500 <= bloom.bits <= 9600 and bloom.probes == 7
    assert len(bloom.to_bytes()) == HEADER_BYTES + (bloom.bits + 7) // 8


def test_union_holds_both_and_needs_matching_filters() -> None:
    a, b = BloomFilter(100, seed=1), BloomFilter(100, seed=1)
    a.add(b"x")
    b.add(b"y")
    both = a.union(b)
    assert b"x" in both and b"y" in both and len(both) == 2
    with pytest.raises(ValueError):
        a.union(BloomFilter(100, seed=2))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=20), max_size=30), st.integers(0, 2**64 - 1))
def test_bytes_round_trip(items: list[bytes], seed: int) -> None:
    bloom = BloomFilter(50, 0.05, seed=seed)
    for item in items:
        bloom.add(item)
    again = BloomFilter.from_bytes(bloom.to_bytes())
    assert again == bloom and all(item in again for item in items)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_garbage_gives_a_typed_error(data: bytes) -> None:
    try:
        bloom = BloomFilter.from_bytes(data)
    except BloomDecodeError:
        return
    assert BloomFilter.from_bytes(bloom.to_bytes()) == bloom


def test_header_errors_are_named() -> None:
    good = BloomFilter(10).to_bytes()
    with pytest.raises(BloomDecodeError, match="bad magic"):
        BloomFilter.from_bytes(b"XX" + good[2:])
    with pytest.raises(BloomDecodeError, match="version 9"):
        BloomFilter.from_bytes(good[:2] + b"\x09" + good[3:])
    with pytest.raises(BloomDecodeError, match="needs"):
        BloomFilter.from_bytes(good[:-1])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.binary(max_size=40), max_size=60),
    st.lists(st.binary(max_size=40), max_size=60),
    st.integers(1, 500),
    st.integers(0, 2**64 - 1),
)
def test_bulk_update_and_absent_follow_the_documented_double_hashing(
    added: list[bytes], probed: list[bytes], capacity: int, seed: int
) -> None:
    import hashlib

    bloom = BloomFilter(capacity, 0.01, seed=seed)
    bloom.update(added)
    expected = bytearray((bloom.bits + 7) // 8)

    def positions(item: bytes) -> list[int]:  # the module docstring's formula, written out again
        digest = hashlib.blake2b(item, digest_size=16, key=seed.to_bytes(8, "big")).digest()
        both = int.from_bytes(digest, "big")
        h1, h2 = both >> 64, both & 0xFFFFFFFFFFFFFFFF | 1
        return [(h1 + i * h2) % bloom.bits for i in range(bloom.probes)]

    for item in added:
        for pos in positions(item):
            expected[pos >> 3] |= 1 << (pos & 7)
    assert bloom.to_bytes()[HEADER_BYTES:] == bytes(expected) and len(bloom) == len(added)
    assert bloom.absent(added) == []  # no false negatives
    surely_absent = [
        i
        for i, item in enumerate(probed)
        if not all(expected[p >> 3] >> (p & 7) & 1 for p in positions(item))
    ]
    assert bloom.absent(probed) == surely_absent
    assert [item in bloom for item in probed] == [i not in surely_absent for i in range(len(probed))]
