"""A CRDT value never grows past what its byte format carries (`codec.MAX_BYTES`, which every
`from_bytes` enforces): the operation that would take it there is refused with `CrdtSizeError` and
changes nothing, instead of the replica failing every later sync (fix10's note). The limit is patched
small here; the bound that spares each operation a full encoding is checked to be an upper bound."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from crdt_states import KINDS, History, histories
from hypothesis import given

from aura_choreo.orchestration.crdt import (
    Crdt,
    CrdtSizeError,
    CrdtValueError,
    GCounter,
    MVRegister,
    ORMap,
    ORSet,
    PNCounter,
    VectorClock,
    codec,
)
from aura_choreo.orchestration.crdt.base import _bytes_at_most

LIMIT = 2048

GROWERS: dict[str, tuple[Crdt, Callable[[Any, int], tuple[Any, Any]]]] = {
    "ORSet": (ORSet(), lambda s, i: s.add("a", f"element-{i}")),
    "GCounter": (GCounter(), lambda s, i: s.increment(f"replica-{i}")),
    "PNCounter": (PNCounter(), lambda s, i: s.decrement(f"replica-{i}")),
    "VectorClock": (VectorClock(), lambda s, i: s.increment(f"replica-{i}")),
    # A write after seeing one more writer: its clock counts every writer it has seen.
    "MVRegister": (MVRegister(), lambda s, i: s.merge(MVRegister().assign(f"w{i}", 0)[0]).assign("z", 1)),
    "ORMap": (ORMap(), lambda s, i: s.update("a", f"key-{i}", ORSet(), lambda c: c.add("a", i))),
}


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(codec, "MAX_BYTES", LIMIT)
    return LIMIT


@pytest.mark.parametrize("kind", sorted(GROWERS))
def test_the_operation_that_would_pass_the_limit_is_refused_and_changes_nothing(
    small_limit: int, kind: str
) -> None:
    value, grow = GROWERS[kind]
    with pytest.raises(CrdtSizeError, match=f"past the byte format's limit of {LIMIT}") as refused:
        for i in range(10_000):
            value, _ = grow(value, i)
    assert isinstance(refused.value, CrdtValueError)  # an operation's refusal, like the value rule's
    data = value.to_bytes()  # the last accepted value still encodes, and a peer still decodes it
    assert len(data) <= LIMIT and type(value).from_bytes(data) == value


def test_a_merged_value_past_the_limit_is_not_written_as_bytes_no_peer_takes(small_limit: int) -> None:
    """Operations are checked one replica at a time; two replicas' values joined can still pass the
    limit. Its bytes are refused where they would be made, naming the limit, not by each peer."""
    left, right = ORSet(), ORSet()
    for i in range(100):
        left, _ = left.add("a", f"left-{i:03}")
        right, _ = right.add("b", f"right-{i:03}")
    assert len(left.to_bytes()) <= LIMIT and len(right.to_bytes()) <= LIMIT
    with pytest.raises(CrdtSizeError, match="past the byte format's limit"):
        left.merge(right).to_bytes()


def test_a_single_value_past_the_limit_is_refused_by_the_value_rule_first(small_limit: int) -> None:
    with pytest.raises(CrdtValueError):
        MVRegister().assign("a", b"x" * (LIMIT + 1))


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.KIND)
def test_the_size_an_operation_leaves_is_never_below_the_real_size(kind: type[Crdt]) -> None:
    @given(histories(kind))
    def check(history: History) -> None:
        for value in [*history.states, history.a_after, *history.deltas]:
            assert _bytes_at_most(value) >= len(value.to_bytes())

    check()


def test_an_operation_after_a_sync_does_not_measure_the_whole_value_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A replica merged with what a peer sent (decoded: its bound is the bytes' length) or with a
    join of such pieces keeps a size bound, so its next operation measures only its delta."""
    value, _ = ORSet().add("a", "first")
    for i in range(300):
        value, _ = value.add("a", f"element-{i}")
    peer, _ = ORSet().add("b", "theirs")
    value = value.merge(ORSet.from_bytes(peer.to_bytes()))
    value = value.merge(ORSet.join_all([ORSet.from_bytes(peer.to_bytes())]))
    measured: list[int] = []
    real = codec.packed_size

    def counted(kind: str, body: object) -> int:
        measured.append(real(kind, body))
        return measured[-1]

    monkeypatch.setattr(codec, "packed_size", counted)
    value, _ = value.add("a", "after the sync")
    assert measured and max(measured) < 100  # the delta only, not the 300-element set
    assert _bytes_at_most(value) >= len(value.to_bytes())
