"""Effect programs: building, composing, running hand-built programs, and middleware stacking."""

from __future__ import annotations

import asyncio

import pytest

from aura_choreo.errors import TransportError
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.middleware import FaultInjection, MetricsMiddleware, RetryMiddleware, TraceMiddleware
from aura_choreo.runtime.program import (
    ChooseEffect,
    Program,
    RecvEffect,
    SendEffect,
)
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

PING = choreography(
    """
    choreography Ping {
        roles: A, B;
        loop (count: 2) { A -> B: Ping(n: i64); B -> A: Pong(n: i64); }
        choice A { again: { A -> B: Again; } done: { A -> B: Done; } }
    }
    """
)


def test_programs_are_immutable_and_compose_with_then() -> None:
    empty = Program()
    first = empty.send("B", "Hello").recv("B")
    second = Program().choose("done")
    both = first.then(second)
    assert len(empty) == 0 and len(first) == 2
    assert both == first + second
    assert [type(e) for e in both.effects] == [SendEffect, RecvEffect, ChooseEffect]
    assert both.effects[0] == SendEffect("B", "Hello", "Hello")


async def test_a_hand_written_program_runs_against_the_monitor() -> None:
    session = PING.session()
    a_program = (
        Program()
        .send("B", {"n": 1}, label="Ping")
        .recv("B")
        .send("B", {"n": 2}, label="Ping")
        .recv("B")
        .choose("done", {"done": Program().send("B", "Done")})
    )
    await run_session(session, InMemoryTransport(), {"A": a_program})
    assert [e.label for e in session.trace.of_kind("recv")] == ["Ping", "Pong", "Ping", "Pong", "Done"]


async def test_a_program_that_breaks_the_protocol_raises() -> None:
    from aura_choreo.errors import ProtocolViolation

    session = PING.session()
    with pytest.raises(ProtocolViolation, match="send Ping to B"):
        await run_session(session, InMemoryTransport(), {"A": Program().send("B", "Done")})


async def test_trace_and_metrics_middleware_stack() -> None:
    traces: list[TraceMiddleware] = []
    metrics: list[MetricsMiddleware] = []

    def trace(inner):  # type: ignore[no-untyped-def]
        traces.append(TraceMiddleware(inner))
        return traces[-1]

    def count(inner):  # type: ignore[no-untyped-def]
        metrics.append(MetricsMiddleware(inner))
        return metrics[-1]

    session = PING.session()
    await run_session(session, InMemoryTransport(), {}, middleware=[trace, count], seed=4)
    a_trace = traces[0].records
    assert [r.effect for r in a_trace][:2] == ["send Ping to B", "recv Pong from B"]
    assert all(r.ok for r in a_trace)
    totals = sum((m.counts for m in metrics), start=__import__("collections").Counter())
    assert totals["SendEffect"] == totals["RecvEffect"] + totals["OfferEffect"]


async def test_retry_with_backoff_recovers_from_injected_transport_faults() -> None:
    retries: list[RetryMiddleware] = []
    faults: list[FaultInjection] = []

    def retry(inner):  # type: ignore[no-untyped-def]
        retries.append(RetryMiddleware(inner, attempts=20, base_delay=0.0005, seed=1))
        return retries[-1]

    def inject(inner):  # type: ignore[no-untyped-def]
        faults.append(FaultInjection(inner, rate=0.4, seed=len(faults)))
        return faults[-1]

    session = PING.session()
    await run_session(session, InMemoryTransport(), {}, middleware=[retry, inject], seed=1)
    assert sum(f.injected for f in faults) > 0
    assert sum(r.retries for r in retries) == sum(f.injected for f in faults)
    assert len(session.trace.of_kind("recv")) == 5


async def test_retry_gives_up_after_its_attempts() -> None:
    def retry(inner):  # type: ignore[no-untyped-def]
        return RetryMiddleware(inner, attempts=2, base_delay=0.0001)

    def always_fail(inner):  # type: ignore[no-untyped-def]
        return FaultInjection(inner, rate=1.0)

    with pytest.raises(TransportError, match="injected fault"):
        await run_session(PING.session(), InMemoryTransport(), {}, middleware=[retry, always_fail])


def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    retry = RetryMiddleware(_Nothing(), base_delay=0.1, max_delay=1.0, jitter=0.5, seed=0)
    for attempt, nominal in ((1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)):
        delay = retry.delay(attempt)
        assert nominal * 0.5 <= delay <= nominal * 1.5
    no_jitter = RetryMiddleware(_Nothing(), base_delay=0.1, max_delay=1.0, jitter=0.0)
    assert [no_jitter.delay(a) for a in (1, 2, 3)] == [0.1, 0.2, 0.4]


class _Nothing:
    async def handle(self, effect: object) -> None:
        return None


async def test_a_send_refused_by_the_transport_is_resent_with_the_same_sequence_number() -> None:
    class FlakyOnce(InMemoryTransport):
        failed = False

        def post_frame(self, sender: str, to: str, frame: bytes) -> None:
            if not self.failed:
                self.failed = True
                raise TransportError("link down")
            super().post_frame(sender, to, frame)

    def retry(inner):  # type: ignore[no-untyped-def]
        return RetryMiddleware(inner, attempts=3, base_delay=0.0001)

    session = PING.session()

    async def b(ep: Endpoint) -> None:
        for _ in range(2):
            ping = await ep.recv("A")
            await ep.send("A", ep.message("Pong", n=ping.n))
        await ep.offer("A")

    await asyncio.wait_for(run_session(session, FlakyOnce(), {"B": b}, middleware=[retry]), 5)
    sends = [(e.label, e.seq) for e in session.trace.of_kind("send") if e.role == "A"]
    assert sends[:2] == [("Ping", 1), ("Ping", 2)]
