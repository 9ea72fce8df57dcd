"""CircuitBreaker: the closed/open/half-open state machine, against a model, and as runtime middleware."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aura_choreo.errors import PeerTimeout, ProtocolViolation, TransportError
from aura_choreo.resilience import (
    Attempt,
    BreakerState,
    CircuitBreaker,
    CircuitBreakerMiddleware,
    CircuitOpen,
    MaxRetriesExceeded,
    RetryPolicy,
    run_with_retry,
)
from aura_choreo.runtime.program import LocalEffect, RecvEffect, SendEffect
from aura_choreo.testing.virtual_time import run_virtual


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def succeed() -> str:
    return "ok"


async def fail() -> str:
    raise TransportError("down")


def test_opens_after_the_threshold_fails_fast_half_opens_after_recovery_and_closes_after_probes() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        breaker = CircuitBreaker(failure_threshold=3, recovery_timeout=10.0, half_open_max=2, name="b")
        for _ in range(2):
            with pytest.raises(TransportError):
                await breaker.call(fail)
        assert breaker.state is BreakerState.CLOSED
        with pytest.raises(TransportError):
            await breaker.call(fail)
        assert breaker.state is BreakerState.OPEN
        ran: list[int] = []

        async def counted() -> str:
            ran.append(1)
            return "ok"

        with pytest.raises(CircuitOpen) as caught:
            await breaker.call(counted)
        assert ran == [] and caught.value.retry_after == pytest.approx(10.0)
        assert "circuit 'b' is open" in str(caught.value)
        await asyncio.sleep(9.5)  # virtual
        assert breaker.state is BreakerState.OPEN
        await asyncio.sleep(0.5)
        assert breaker.state is BreakerState.HALF_OPEN
        assert await breaker.call(counted) == "ok"
        assert breaker.state is BreakerState.HALF_OPEN  # one of two probes
        assert await breaker.call(counted) == "ok"
        assert breaker.state is BreakerState.CLOSED
        assert breaker.metrics.opened == 1 and breaker.metrics.closed == 1 and breaker.metrics.rejected == 1
        assert loop.time() == pytest.approx(10.0)

    run_virtual(scenario())


def test_a_failing_probe_opens_the_circuit_for_a_new_recovery_period() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, recovery_timeout=5.0, clock=clock)

    async def scenario() -> None:
        with pytest.raises(TransportError):
            await breaker.call(fail)
        clock.now = 5.0
        assert breaker.state is BreakerState.HALF_OPEN
        with pytest.raises(TransportError):
            await breaker.call(fail)
        assert breaker.state is BreakerState.OPEN
        clock.now = 9.9
        assert breaker.state is BreakerState.OPEN
        clock.now = 10.0
        assert breaker.state is BreakerState.HALF_OPEN

    run_virtual(scenario())


def test_half_open_admits_only_half_open_max_probes_at_a_time() -> None:
    async def scenario() -> None:
        breaker = CircuitBreaker(failure_threshold=1, recovery_timeout=1.0, half_open_max=1)
        with pytest.raises(TransportError):
            await breaker.call(fail)
        await asyncio.sleep(1.0)
        gate = asyncio.Event()

        async def slow_probe() -> str:
            await gate.wait()
            return "ok"

        probe = asyncio.ensure_future(breaker.call(slow_probe))
        await asyncio.sleep(0)
        with pytest.raises(CircuitOpen, match="half-open"):
            await breaker.call(succeed)
        gate.set()
        assert await probe == "ok"
        assert breaker.state is BreakerState.CLOSED

    run_virtual(scenario())


def test_errors_that_do_not_count_pass_through_without_opening() -> None:
    async def scenario() -> None:
        breaker = CircuitBreaker(failure_threshold=1, is_failure=lambda e: isinstance(e, TransportError))

        async def bug() -> None:
            raise ValueError("behaviour bug")

        for _ in range(3):
            with pytest.raises(ValueError):
                await breaker.call(bug)
        assert breaker.state is BreakerState.CLOSED

    run_virtual(scenario())


def test_a_breaker_around_run_with_retry_stops_retrying_sessions_once_open() -> None:
    async def scenario() -> None:
        breaker = CircuitBreaker(failure_threshold=2, recovery_timeout=60.0)
        policy = RetryPolicy(max_attempts=3, base=0.1)
        calls: list[int] = []

        async def session() -> str:
            calls.append(1)
            raise PeerTimeout("silent")

        for _ in range(2):
            with pytest.raises(MaxRetriesExceeded):
                await breaker.call(lambda: run_with_retry(session, policy))
        assert len(calls) == 6 and breaker.state is BreakerState.OPEN
        with pytest.raises(CircuitOpen):
            await breaker.call(lambda: run_with_retry(session, policy))
        # and the other way round: retry around the breaker does not retry an open circuit
        trace: list[Attempt] = []
        with pytest.raises(CircuitOpen):
            await run_with_retry(lambda: breaker.call(session), policy, trace=trace)
        assert len(calls) == 6 and len(trace) == 1

    run_virtual(scenario())


# --- the state machine against a model ------------------------------------------------------------


@dataclass
class Model:
    """The breaker as SPEC §9 states it, written as plainly as possible (sequential calls)."""

    threshold: int
    recovery: float
    probes_to_close: int
    state: str = "closed"
    failures: int = 0
    successes: int = 0
    opened_at: float = 0.0

    def settle(self, now: float) -> None:
        if self.state == "open" and now >= self.opened_at + self.recovery:
            self.state, self.successes = "half_open", 0

    def call(self, ok: bool, now: float) -> str:
        """'rejected', 'ok' or 'failed'."""
        self.settle(now)
        if self.state == "open":
            return "rejected"
        if ok:
            if self.state == "half_open":
                self.successes += 1
                if self.successes >= self.probes_to_close:
                    self.state, self.failures = "closed", 0
            else:
                self.failures = 0
            return "ok"
        if self.state == "half_open":
            self.state, self.opened_at = "open", now
        else:
            self.failures += 1
            if self.failures >= self.threshold:
                self.state, self.opened_at, self.failures = "open", now, 0
        return "failed"


Step = tuple[str, float]


@given(
    threshold=st.integers(1, 5),
    recovery=st.floats(0.0, 20.0),
    probes=st.integers(1, 3),
    steps=st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["success", "failure"]), st.just(0.0)),
            st.tuples(st.just("advance"), st.floats(0.0, 30.0)),
        ),
        max_size=60,
    ),
)
def test_the_breaker_follows_the_model_over_any_sequence_of_calls_and_time(
    threshold: int, recovery: float, probes: int, steps: list[Step]
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold, recovery, probes, clock=clock)
    model = Model(threshold, recovery, probes)

    async def scenario() -> None:
        for kind, amount in steps:
            if kind == "advance":
                clock.now += amount
            else:
                expected = model.call(kind == "success", clock.now)
                try:
                    await breaker.call(succeed if kind == "success" else fail)
                    got = "ok"
                except CircuitOpen:
                    got = "rejected"
                except TransportError:
                    got = "failed"
                assert got == expected, (kind, clock.now)
            model.settle(clock.now)
            assert breaker.state.value == model.state

    run_virtual(scenario())


# --- as runtime middleware -------------------------------------------------------------------------


class Peers:
    """An inner handler whose sends/receives to peers in `down` fail with a transport error."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self.handled: list[str] = []

    async def handle(self, effect: object) -> str:
        peer = getattr(effect, "to", None) or getattr(effect, "from_", None) or "-"
        if peer in self.down:
            raise TransportError(f"{peer} unreachable")
        if peer == "Bug":
            raise ProtocolViolation("A", "x", "y")
        self.handled.append(peer)
        return peer


def test_the_middleware_keeps_a_breaker_per_peer_and_fails_fast_only_towards_the_broken_one() -> None:
    async def scenario() -> None:
        inner = Peers()
        inner.down.add("B")
        handler = CircuitBreakerMiddleware(inner, failure_threshold=2, recovery_timeout=5.0)
        for _ in range(2):
            with pytest.raises(TransportError):
                await handler.handle(SendEffect("B", "Ping"))
        with pytest.raises(CircuitOpen):
            await handler.handle(RecvEffect("B"))
        assert await handler.handle(SendEffect("C", "Ping")) == "C"
        assert await handler.handle(LocalEffect("log")) == "-"  # no peer: passes
        for _ in range(3):  # not the peer's health: never opens
            with pytest.raises(ProtocolViolation):
                await handler.handle(SendEffect("Bug", "Ping"))
        assert handler.breaker("Bug").state is BreakerState.CLOSED
        inner.down.clear()
        await asyncio.sleep(5.0)
        assert await handler.handle(SendEffect("B", "Ping")) == "B"
        assert handler.breaker("B").state is BreakerState.CLOSED
        assert inner.handled.count("B") == 1

    run_virtual(scenario())


def test_nonsense_breaker_settings_are_refused() -> None:
    for args in [(0, 1.0, 1), (1, -1.0, 1), (1, float("nan"), 1), (1, 1.0, 0)]:
        with pytest.raises(ValueError):
            CircuitBreaker(*args)


def test_the_middleware_in_a_session_opens_on_a_silent_peer_and_fails_the_next_session_fast() -> None:
    from pathlib import Path

    from aura_choreo import load
    from aura_choreo.errors import PeerTimeout
    from aura_choreo.runtime.runner import run_session
    from aura_choreo.transports.faults import Partition
    from aura_choreo.transports.network import NetworkModel
    from aura_choreo.transports.simulated import SimulatedTransport

    protocol = load(str(Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"))
    breakers: dict[str, CircuitBreaker] = {}  # shared by the sessions, as in a long-lived process

    def stack(inner: Any) -> Any:
        return CircuitBreakerMiddleware(inner, failure_threshold=1, recovery_timeout=60.0, breakers=breakers)

    async def scenario() -> None:
        cut = SimulatedTransport(NetworkModel(), (Partition(("Participant",), 0.0, 1e9),), seed=1)
        with pytest.raises(PeerTimeout):
            await run_session(protocol.session(peer_timeout=1.0), cut, middleware=(stack,))
        assert breakers["Participant"].state is BreakerState.OPEN
        sent_before = cut.stats.sent
        with pytest.raises(CircuitOpen):
            await run_session(protocol.session(peer_timeout=1.0), cut, middleware=(stack,))
        assert cut.stats.sent == sent_before  # failed fast: nothing reached the network

    run_virtual(scenario())
