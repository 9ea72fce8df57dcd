"""A sync never leaves a replica holding a join past the byte format's limit (`codec.MAX_BYTES`).

Was: operations were refused past the limit, and so was every incoming value (`from_bytes`), but the
join of two replicas each under the limit was kept even when it was over: the replica then failed
every later `to_bytes`, so it could never sync again. SPEC §8.2 has a completed sync leave both
replicas with the join; a join no peer could decode cannot be that, so the sync fails with
`CrdtSizeError` (typed, naming the limit) and the replica that refused it is left as it was. The limit
is patched small here.
"""

from __future__ import annotations

from typing import Any

import pytest

from aura_choreo.orchestration.antientropy import AntiEntropy
from aura_choreo.orchestration.coordinator import MODES, CrdtCoordinator
from aura_choreo.orchestration.crdt import CrdtSizeError, ORSet, codec
from aura_choreo.orchestration.entries import CrdtEntries
from aura_choreo.orchestration.exchange import Device
from aura_choreo.transports import InMemoryTransport

LIMIT = 2048


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(codec, "MAX_BYTES", LIMIT)
    return LIMIT


def halves() -> tuple[ORSet, ORSet]:
    """Two sets, each well under the limit (so that what a sync sends, every element of one side with
    its overhead, is under it too), whose join is over it."""
    left, right = ORSet(), ORSet()
    for i in range(8):
        left, _ = left.add("a", f"left-{i}-" + "x" * 150)
        right, _ = right.add("b", f"right-{i}-" + "y" * 150)
    assert len(left.to_bytes()) < 0.7 * LIMIT and len(right.to_bytes()) < 0.7 * LIMIT
    return left, right


def test_merge_within_limit_is_merge_under_the_limit_and_refuses_past_it(small_limit: int) -> None:
    left, right = halves()
    joined = left.merge(right)  # the lattice's join stays total
    assert codec.packed_size(joined.KIND, joined.body()) > LIMIT
    with pytest.raises(CrdtSizeError, match=f"join with what a peer sent .* limit of {LIMIT}"):
        left.merge_within_limit(right)
    small, _ = ORSet().add("c", "x")
    assert left.merge_within_limit(small) == left.merge(small)


@pytest.mark.parametrize("mode", MODES)
async def test_a_sync_whose_join_passes_the_limit_fails_typed_and_changes_nothing(
    small_limit: int, mode: Any
) -> None:
    left, right = halves()
    transport = InMemoryTransport()
    async with Device("a", transport) as a, Device("b", transport) as b:
        x = CrdtCoordinator(a, "s", ORSet(), mode=mode)
        y = CrdtCoordinator(b, "s", ORSet(), mode=mode)
        for element in sorted(left.value):
            x.apply(lambda s, e=element: s.add("a", e))
        for element in sorted(right.value):
            y.apply(lambda s, e=element: s.add("b", e))
        before = (x.value, y.value)
        with pytest.raises(CrdtSizeError, match="past the byte format's limit"):
            await x.sync_with(y)
        assert (x.value, y.value) == before
        assert x.metrics.errors == 1
        for replica in (x, y):  # each can still send its value
            assert ORSet.from_bytes(replica.value.to_bytes()) == replica.value


async def test_operations_refused_by_the_limit_are_not_counted_as_delivered(small_limit: int) -> None:
    """In operations mode a refused batch stays undelivered: once the limit allows it (a larger
    limit here), the same operations are sent again and the replicas converge."""
    left, right = halves()
    transport = InMemoryTransport()
    async with Device("a", transport) as a, Device("b", transport) as b:
        x = CrdtCoordinator(a, "s", ORSet(), mode="operations")
        y = CrdtCoordinator(b, "s", ORSet(), mode="operations")
        for element in sorted(left.value):
            x.apply(lambda s, e=element: s.add("a", e))
        for element in sorted(right.value):
            y.apply(lambda s, e=element: s.add("b", e))
        with pytest.raises(CrdtSizeError):
            await x.sync_with(y)
        codec.MAX_BYTES = 4 * LIMIT  # monkeypatch restores the real limit afterwards
        await x.sync_with(y)
        assert x.value == y.value == left.merge(right)


async def test_anti_entropy_refuses_a_join_past_the_limit(small_limit: int) -> None:
    left, right = halves()
    transport = InMemoryTransport()
    async with Device("a", transport) as a, Device("b", transport) as b:
        x, y = AntiEntropy(a, CrdtEntries("s", left)), AntiEntropy(b, CrdtEntries("s", right))
        with pytest.raises(CrdtSizeError, match="past the byte format's limit"):
            await x.reconcile(y)
        assert y.entries.value == right and x.entries.value == left
