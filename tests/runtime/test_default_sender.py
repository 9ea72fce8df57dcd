"""The default behaviour's planned sends (`DefaultBehaviour.sender`, what the behaviour-driven runner
sends with when no user behaviour is given) send exactly what `payload` and the send's coercion give:
the same messages, drawn from the generator in the same order."""

from __future__ import annotations

import asyncio
from typing import Any

from aura_choreo.effects.ops import Effect
from aura_choreo.projection.local_types import Send, iter_steps
from aura_choreo.protocol import choreography
from aura_choreo.runtime.behaviour import DefaultBehaviour, ProtocolHints
from aura_choreo.runtime.interpreter import Handler
from aura_choreo.runtime.messages import coerce_message
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

SOURCE = """
choreography Shapes {
    roles: A, B, C;
    loop (count: 3) {
        A -> B: Empty;
        A -> B: One(n: i64);
        A -> B: Bare(String);
        A -> B: Pair(u32, bool);
        A -> B: Record(id: u64, name: String, flag: bool);
        B -> C: Relay(id: u64, note: String);
        C -> A: Back(n: i64, flag: bool);
    }
}
"""


class Target:
    """An endpoint stand-in: the fields it has received, and the sends made through it."""

    def __init__(self, received: dict[str, object]) -> None:
        self.received = received
        self.sent: list[tuple[str, object, str | None]] = []

    async def send(self, to: str, message: object, *, label: str | None = None) -> None:
        self.sent.append((to, message, label))


def test_sender_sends_what_payload_and_coercion_give() -> None:
    protocol = choreography(SOURCE)
    session = protocol.session()
    sends = [
        step
        for local in session.local_types.values()
        for step in iter_steps(local.steps)
        if isinstance(step, Send)
    ]
    assert len(sends) == 7
    # Some named fields known (they keep their value), some not (synthesised).
    known: dict[str, object] = {"id": 123, "n": -4}
    planned, reference = DefaultBehaviour(seed=11), DefaultBehaviour(seed=11)
    target = Target(known)
    for _ in range(3):  # the generator advances alike, message after message
        for step in sends:
            spec = session.catalog.step_spec(step, step.label, step.payload)
            send = planned.sender(step.payload, spec.cls, spec.fields, target, step.to, step.label)
            assert send is not None
            asyncio.run(_awaited(send()))
            expected = coerce_message(spec, reference.payload(step.payload, {}, known))
            assert expected is not None
            assert target.sent[-1] == (step.to, expected, step.label)
            assert type(target.sent[-1][1]) is spec.cls
    assert target.sent[1][1].n == -4 and target.sent[4][1].id == 123  # type: ignore[attr-defined]


def test_sender_reads_the_received_fields_at_each_call() -> None:
    session = choreography(SOURCE).session()
    step = next(
        s for s in iter_steps(session.local_types["A"].steps) if isinstance(s, Send) and s.label == "One"
    )
    spec = session.catalog.step_spec(step, step.label, step.payload)
    target = Target({})
    send = DefaultBehaviour(seed=1).sender(step.payload, spec.cls, spec.fields, target, "B", "One")
    assert send is not None
    target.received = {"n": 77}  # e.g. an endpoint restored from a checkpoint
    asyncio.run(_awaited(send()))
    assert target.sent[-1][1] == spec.cls(77)


def test_sender_declines_a_class_whose_fields_are_not_the_payloads() -> None:
    session = choreography(SOURCE).session()
    step = next(
        s for s in iter_steps(session.local_types["A"].steps) if isinstance(s, Send) and s.label == "One"
    )
    other = session.catalog.by_label("Record")
    assert other is not None
    target = Target({})
    assert DefaultBehaviour().sender(step.payload, other.cls, other.fields, target, "B", "One") is None


class PassThrough:
    """Middleware doing nothing: the runner then sends through `handle`, the unplanned path."""

    def __init__(self, inner: Handler) -> None:
        self.inner = inner

    async def handle(self, effect: Effect) -> Any:
        return await self.inner.handle(effect)


def test_planned_and_unplanned_runs_agree() -> None:
    protocol = choreography(SOURCE)
    hints = ProtocolHints.from_local_types(protocol.local_types().values())

    def run(middleware: tuple[Any, ...]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
        session = protocol.session()
        results = asyncio.run(
            run_session(session, InMemoryTransport(), {}, seed=5, hints=hints, middleware=middleware)
        )
        events = [(e.kind, e.sender, e.label) for e in session.trace.events]
        return results, events

    planned, unplanned = run(()), run((PassThrough,))
    assert planned == unplanned
    assert planned[0]["A"]["flag"] in (True, False) and len(planned[1]) == 2 * 7 * 3


async def _awaited(value: Any) -> None:
    await value
