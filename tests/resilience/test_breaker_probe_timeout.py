"""A half-open breaker's probe is bounded by `probe_timeout` (SPEC §9 names none; resilience4j's
`maxWaitDurationInHalfOpenState` is the model, unbounded by default there as here).

Was: a probe that never returned held its slot, so the circuit stayed half-open and refused every
other call for ever. With `probe_timeout`, the late probe is cancelled, fails with `ProbeTimedOut`
(counted as a failing probe whatever `is_failure` says), and the circuit opens for a new recovery
period, after which a new probe is admitted. All on the virtual-time loop.
"""

from __future__ import annotations

import asyncio

import pytest

from aura_choreo.errors import TransportError
from aura_choreo.resilience import (
    BreakerState,
    CircuitBreaker,
    CircuitBreakerMiddleware,
    CircuitOpen,
    ProbeTimedOut,
)
from aura_choreo.runtime.program import SendEffect
from aura_choreo.testing.virtual_time import run_virtual


async def fail() -> str:
    raise TransportError("down")


async def succeed() -> str:
    return "ok"


async def opened(breaker: CircuitBreaker) -> None:
    with pytest.raises(TransportError):
        await breaker.call(fail)
    await asyncio.sleep(breaker.recovery_timeout)
    assert breaker.state is BreakerState.HALF_OPEN


def test_a_probe_that_never_returns_is_cancelled_fails_and_reopens_the_circuit() -> None:
    cancelled: list[bool] = []

    async def hang() -> str:
        try:
            await asyncio.Event().wait()  # never set
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return "unreachable"

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        breaker = CircuitBreaker(1, recovery_timeout=5.0, name="p", probe_timeout=2.0)
        await opened(breaker)
        started = loop.time()
        with pytest.raises(ProbeTimedOut, match=r"circuit 'p': the probe call ran past its 2s") as caught:
            await breaker.call(hang)
        assert isinstance(caught.value, TimeoutError)
        assert loop.time() - started == pytest.approx(2.0) and cancelled == [True]
        assert breaker.state is BreakerState.OPEN and breaker.metrics.failures == 2
        with pytest.raises(CircuitOpen):
            await breaker.call(succeed)
        await asyncio.sleep(5.0)  # a new recovery period; the slot is free again
        assert await breaker.call(succeed) == "ok"
        assert breaker.state is BreakerState.CLOSED

    run_virtual(scenario())


def test_a_late_probe_fails_even_when_its_errors_would_not_count() -> None:
    async def scenario() -> None:
        breaker = CircuitBreaker(
            1,
            recovery_timeout=1.0,
            probe_timeout=1.0,
            is_failure=lambda e: isinstance(e, TransportError),
        )
        await opened(breaker)
        with pytest.raises(ProbeTimedOut):
            await breaker.call(lambda: asyncio.sleep(10.0))
        assert breaker.state is BreakerState.OPEN

    run_virtual(scenario())


def test_the_timeout_bounds_probes_only_and_a_probe_in_time_succeeds() -> None:
    async def scenario() -> None:
        breaker = CircuitBreaker(2, recovery_timeout=1.0, probe_timeout=1.0)
        await breaker.call(lambda: asyncio.sleep(30.0))  # closed: not a probe, no limit
        with pytest.raises(TransportError):
            await breaker.call(fail)
        await opened(breaker)
        await breaker.call(lambda: asyncio.sleep(0.5))
        assert breaker.state is BreakerState.CLOSED

    run_virtual(scenario())


def test_an_operations_own_timeout_error_is_not_taken_for_the_probe_timeout() -> None:
    async def own_timeout() -> None:
        raise TimeoutError("the operation's own")

    async def scenario() -> None:
        breaker = CircuitBreaker(1, recovery_timeout=1.0, probe_timeout=5.0)
        await opened(breaker)
        with pytest.raises(TimeoutError, match="the operation's own") as caught:
            await breaker.call(own_timeout)
        assert not isinstance(caught.value, ProbeTimedOut)

    run_virtual(scenario())


def test_without_a_probe_timeout_a_probe_may_run_as_long_as_it_takes() -> None:
    async def scenario() -> None:
        breaker = CircuitBreaker(1, recovery_timeout=1.0)
        await opened(breaker)
        await breaker.call(lambda: asyncio.sleep(1000.0))
        assert breaker.state is BreakerState.CLOSED

    run_virtual(scenario())


def test_the_middleware_passes_the_probe_timeout_to_each_peers_breaker() -> None:
    class Silent:
        async def handle(self, effect: object) -> None:
            await asyncio.Event().wait()

    middleware = CircuitBreakerMiddleware(Silent(), failure_threshold=1, probe_timeout=3.0)
    assert middleware.breaker("B").probe_timeout == 3.0

    async def scenario() -> None:
        breaker = middleware.breaker("B")
        with pytest.raises(TransportError):
            await breaker.call(fail)
        await asyncio.sleep(breaker.recovery_timeout)
        with pytest.raises(ProbeTimedOut):
            await middleware.handle(SendEffect("B", "Ping"))
        assert breaker.state is BreakerState.OPEN

    run_virtual(scenario())


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan")])
def test_nonsense_probe_timeouts_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="probe_timeout"):
        CircuitBreaker(probe_timeout=bad)
