"""What `send` refuses before anything advances: unencodable payloads, out-of-range integers,
ill-shaped payloads (naming the field), and choices whose guard is false."""

from __future__ import annotations

from typing import Any

import pytest

from aura_choreo.errors import ProtocolViolation
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.extensions import Extension, ExtensionRegistry, StepContext
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

NOTE = choreography(
    """
    choreography Note {
        roles: A, B;
        A -> B: Note(text: String, blob: Blob);
    }
    """
)


class CountingExtension(Extension):
    """Counts the sends the guard chain was asked to prepare."""

    def __init__(self) -> None:
        self.prepared = 0

    def before_send(self, ctx: StepContext) -> None:
        self.prepared += 1


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "bad",
    [{"text": "lone \ud800 surrogate", "blob": 1}, {"text": "fine", "blob": nested(1000)}],
    ids=["surrogate", "nested"],
)
async def test_an_unencodable_payload_is_refused_before_anything_advances(bad: dict[str, Any]) -> None:
    extension = CountingExtension()
    registry = ExtensionRegistry()
    registry.register_all(extension)
    session = NOTE.session(extensions=registry)
    refused: list[ProtocolViolation] = []

    async def a(ep: Endpoint) -> None:
        with pytest.raises(ProtocolViolation) as caught:
            await ep.send("B", bad, label="Note")
        refused.append(caught.value)
        assert ep.monitor.step_count == 0 and ep.monitor.expected() == "send Note to B"
        assert extension.prepared == 0  # the guard chain never saw the refused send
        await ep.send("B", {"text": "fine", "blob": 1}, label="Note")  # the same step, sequence 1

    async def b(ep: Endpoint) -> Any:
        return await ep.recv("A")

    results = await run_session(session, InMemoryTransport(), {"A": a, "B": b})
    assert results["B"].text == "fine"
    assert refused[0].role == "A" and "unencodable value" in str(refused[0])
    assert [e.seq for e in session.trace.events if e.kind == "send"] == [1]


INTS = choreography(
    """
    choreography Ints {
        roles: A, B;
        A -> B: Counts(total: u64, small: u8, delta: i8);
    }
    """
)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"total": -5, "small": 1, "delta": 0}, "total"),
        ({"total": 5, "small": 256, "delta": 0}, "small"),
        ({"total": 5, "small": 1, "delta": -129}, "delta"),
        ({"total": 2**64, "small": 1, "delta": 0}, "total"),
    ],
)
async def test_integer_fields_are_range_checked_on_send(fields: dict[str, int], named: str) -> None:
    async def a(ep: Endpoint) -> None:
        with pytest.raises(ProtocolViolation) as caught:
            await ep.send("B", fields, label="Counts")
        assert named in caught.value.got
        assert ep.monitor.step_count == 0
        await ep.send("B", {"total": 2**64 - 1, "small": 255, "delta": -128}, label="Counts")

    async def b(ep: Endpoint) -> Any:
        return await ep.recv("A")

    results = await run_session(INTS.session(), InMemoryTransport(), {"A": a, "B": b})
    assert (results["B"].total, results["B"].small, results["B"].delta) == (2**64 - 1, 255, -128)


async def test_a_payload_of_the_wrong_shape_names_the_fields() -> None:
    async def a(ep: Endpoint) -> None:
        with pytest.raises(ProtocolViolation) as caught:
            await ep.send("B", {"total": 1, "smal": 2}, label="Counts")
        got = caught.value.got
        assert "dict" not in got
        assert "small" in got and "delta" in got and "smal" in got
        await ep.send("B", {"total": 1, "small": 2, "delta": 3}, label="Counts")

    async def b(ep: Endpoint) -> Any:
        return await ep.recv("A")

    await run_session(INTS.session(), InMemoryTransport(), {"A": a, "B": b})


GUARDED = choreography(
    """
    choreography Guarded {
        roles: A, B;
        A -> B: Offer(price: u32);
        choice B {
            accept when (price < 100): { B -> A: Accept; }
            reject: { B -> A: Reject; }
        }
    }
    """
)


async def test_the_monitor_refuses_a_hand_written_choice_whose_guard_is_false() -> None:
    async def a(ep: Endpoint) -> None:
        await ep.send("B", {"price": 500}, label="Offer")
        await ep.offer("B")

    async def b(ep: Endpoint) -> None:
        await ep.recv("A")
        with pytest.raises(ProtocolViolation) as caught:
            await ep.choose("accept")
        assert "price < 100" in str(caught.value)
        await ep.choose("reject")
        await ep.send("A", "Reject")

    await run_session(GUARDED.session(), InMemoryTransport(), {"A": a, "B": b})
