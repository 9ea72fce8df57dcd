"""The CRDT laws (SPEC §8.1), checked by hypothesis for every type on reachable states."""

from __future__ import annotations

from typing import Any

import pytest
from crdt_states import KINDS, histories
from hypothesis import given, settings
from hypothesis import strategies as st

from aura_choreo.orchestration.crdt import Crdt, CrdtDecodeError, GCounter, ORSet, codec, decode, entry_map

LAWS = settings(max_examples=40, deadline=None)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.KIND)
def test_merge_is_commutative_associative_idempotent(kind: type[Crdt]) -> None:
    @LAWS
    @given(histories(kind))
    def check(history: Any) -> None:
        a, b, c = history.states
        assert a.merge(b) == b.merge(a)
        assert a.merge(b).merge(c) == a.merge(b.merge(c))
        assert a.merge(a) == a
        assert a.merge(kind.empty()) == a

    check()


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.KIND)
def test_deltas_and_entries_rebuild_the_state(kind: type[Crdt]) -> None:
    @LAWS
    @given(histories(kind))
    def check(history: Any) -> None:
        before, after, b = history.a_before, history.a_after, history.states[1]
        # Each operation's new value is the old one merged with its delta ...
        assert before.merge(kind.join_all(history.deltas)) == after
        # ... so a peer that has `before` catches up from the deltas alone, in any grouping.
        via_deltas = b.merge(before)
        for delta in reversed(history.deltas):
            via_deltas = via_deltas.merge(delta)
        assert via_deltas == b.merge(after)
        # delta_since(version) is what a replica at that version lacks, and nothing when it lacks nothing.
        assert b.merge(after.delta_since(b.version())) == b.merge(after)
        assert after.delta_since(after.version()).is_empty()
        # Anti-entropy's entries join back to the value.
        assert kind.join_all(entry_map(after).values()) == after

    check()


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.KIND)
def test_bytes_round_trip_and_bad_bytes_give_a_typed_error(kind: type[Crdt]) -> None:
    @LAWS
    @given(histories(kind), st.data())
    def check(history: Any, data: st.DataObject) -> None:
        for state in (*history.states, history.a_after):
            encoded = state.to_bytes()
            assert kind.from_bytes(encoded) == state
            assert decode(encoded) == state
            assert kind.from_bytes(encoded).to_bytes() == encoded
        corrupt = bytearray(history.a_after.to_bytes())
        corrupt[data.draw(st.integers(0, len(corrupt) - 1))] = data.draw(st.integers(0, 255))
        cut = data.draw(st.integers(0, len(corrupt)))
        for candidate in (bytes(corrupt), bytes(corrupt[:cut]), data.draw(st.binary(max_size=40))):
            try:
                value = kind.from_bytes(candidate)
            except CrdtDecodeError:
                continue
            assert kind.from_bytes(value.to_bytes()) == value

    check()


def test_wrong_kind_and_version_are_named() -> None:
    counter, _ = GCounter().increment("a")
    with pytest.raises(CrdtDecodeError, match="expected a serialised ORSet, got GCounter"):
        ORSet.from_bytes(counter.to_bytes())
    with pytest.raises(CrdtDecodeError, match="unsupported CRDT format version 2"):
        GCounter.from_bytes(codec.pack("GCounter", []).replace(b"\x01", b"\x02", 1))
    with pytest.raises(CrdtDecodeError, match="unknown CRDT kind"):
        decode(codec.pack("Nope", []))
    with pytest.raises(CrdtDecodeError):
        GCounter.from_bytes(codec.pack("GCounter", [["a", 0]]))  # counts are positive
