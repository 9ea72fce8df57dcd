"""`CausalBuffer.pending` is bounded (fix10's note: a peer that sends only operations whose causes
never come grew it without limit): past `max_pending` the newest early operations are dropped, logged
as `PendingLimitReached` and counted; what becomes deliverable is still delivered, and a dropped
operation is delivered once it is sent again after its causes."""

from __future__ import annotations

import logging

import pytest

from aura_choreo.orchestration.coordinator import CrdtCoordinator
from aura_choreo.orchestration.crdt import CausalBuffer, GCounter, Operation, VectorClock
from aura_choreo.orchestration.crdt.causal import DEFAULT_MAX_PENDING
from aura_choreo.orchestration.exchange import Device
from aura_choreo.transports import InMemoryTransport


def future(origin: str, n: int) -> Operation:
    """An operation that needs event 1 of `missing`, which never comes."""
    return Operation(origin, VectorClock.of({origin: n, "missing": 1}), str(n).encode())


def chain(origin: str, count: int) -> list[Operation]:
    sender, ops = CausalBuffer(), []
    for n in range(count):
        sender, op = sender.stamp(origin, str(n).encode())
        ops.append(op)
    return ops


def test_early_operations_past_the_bound_are_dropped_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    buffer = CausalBuffer(max_pending=3)
    with caplog.at_level(logging.WARNING, logger="aura_choreo.crdt"):
        buffer, ready = buffer.receive([future("evil", n) for n in range(1, 11)])
    assert ready == [] and len(buffer.pending) == 3 and buffer.dropped == 7
    assert [op.clock["evil"] for op in buffer.pending] == [1, 2, 3]  # the ones already waiting stay
    [record] = caplog.records
    assert "dropped 7 operation(s) from evil" in record.getMessage()
    assert "at most 3" in record.getMessage()


def test_the_default_bound_holds_against_a_flood() -> None:
    buffer, _ = CausalBuffer().receive([future("evil", n) for n in range(1, DEFAULT_MAX_PENDING + 51)])
    assert len(buffer.pending) == DEFAULT_MAX_PENDING and buffer.dropped == 50


def test_a_full_buffer_still_delivers_what_is_ready_and_a_dropped_operation_comes_again() -> None:
    first, second, third = chain("a", 3)
    buffer = CausalBuffer(max_pending=1)
    buffer, ready = buffer.receive([future("evil", 1), third, second])  # only evil's fits
    assert ready == [] and buffer.pending == (future("evil", 1),) and buffer.dropped == 2
    buffer, ready = buffer.receive([first])
    assert ready == [first]
    buffer, ready = buffer.receive([second, third])  # sent again: the sender still holds them
    assert ready == [second, third] and buffer.delivered["a"] == 3


def test_a_negative_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="max_pending"):
        CausalBuffer(max_pending=-1)


async def test_a_coordinator_bounds_its_buffer_and_reports_the_drops() -> None:
    transport = InMemoryTransport()
    async with Device("a", transport) as a, Device("b", transport) as b:
        honest = CrdtCoordinator(a, "n", GCounter(), mode="operations", max_pending=4)
        flooder = CrdtCoordinator(b, "n", GCounter(), mode="operations")
        flooder._ops.extend(
            Operation("b", VectorClock.of({"b": n, "missing": 1}), GCounter().increment("b")[1].to_bytes())
            for n in range(2, 22)  # each after event 1 of b, and of a device that never speaks
        )
        flooder.apply(lambda c: c.increment("b"))  # b's event 1: deliverable
        await flooder.sync_with(honest)
        assert len(honest._causal.pending) == 4
        assert honest.metrics.dropped_operations == 16 and honest.metrics.errors == 0
        assert honest.value.value == 1  # what could be delivered was
