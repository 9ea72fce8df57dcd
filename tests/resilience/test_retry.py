"""RetryPolicy and run_with_retry: backoff on the loop's clock, seeded jitter, error classification."""

from __future__ import annotations

import asyncio
import itertools
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aura_choreo.errors import (
    CapabilityDenied,
    HandshakeRefused,
    PeerTimeout,
    ProtocolViolation,
    TransportError,
)
from aura_choreo.resilience import Attempt, CircuitOpen, MaxRetriesExceeded, RetryPolicy, run_with_retry
from aura_choreo.resilience.breaker import BreakerState
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.backoff import backoff_ceiling, backoff_delay


class Flaky:
    """Fails with `error` the first `failures` times, then returns `value`; records loop times of calls."""

    def __init__(self, failures: int, error: Exception | None = None, value: str = "ok") -> None:
        self.failures = failures
        self.error = error or TransportError("link down")
        self.value = value
        self.calls: list[float] = []

    async def __call__(self) -> str:
        self.calls.append(asyncio.get_running_loop().time())
        if len(self.calls) <= self.failures:
            raise self.error
        return self.value


@pytest.mark.timeout(20)
def test_ten_attempts_with_exponential_backoff_run_on_virtual_time_with_the_seeded_delays() -> None:
    # base 1s doubling to a 600s cap: real sleeping would take over an hour; the 20 s test timeout fails it
    policy = RetryPolicy(max_attempts=10, base=1.0, max_delay=600.0, jitter="full", seed=42)
    flaky = Flaky(failures=9)
    trace: list[Attempt] = []

    async def scenario() -> tuple[str, float]:
        start = asyncio.get_running_loop().time()
        result = await run_with_retry(flaky, policy, trace=trace)
        return result, asyncio.get_running_loop().time() - start

    result, elapsed = run_virtual(scenario())
    assert result == "ok"
    assert [a.number for a in trace] == list(range(1, 11))
    assert [a.ok for a in trace] == [False] * 9 + [True]
    # the expected delays: full jitter over min(600, 1 * 2**(n-1)) from random.Random(42)
    rng = random.Random(42)
    expected = [rng.uniform(0, min(600.0, 2.0 ** (n - 1))) for n in range(1, 10)]
    assert [a.delay for a in trace[:-1]] == pytest.approx(expected)
    assert trace[-1].delay is None
    assert policy.delays() == pytest.approx(expected)
    # each attempt started exactly its delay after the previous one ended, on the virtual clock
    for before, after in itertools.pairwise(trace):
        assert after.started == pytest.approx(before.ended + (before.delay or 0.0))
    assert elapsed == pytest.approx(sum(expected))
    assert sum(expected) > 100  # so the run above would have slept for minutes on a real clock


def test_the_same_seed_gives_the_same_delays_and_another_seed_others() -> None:
    a = RetryPolicy(max_attempts=8, base=0.5, seed=1).delays()
    assert a == RetryPolicy(max_attempts=8, base=0.5, seed=1).delays()
    assert a != RetryPolicy(max_attempts=8, base=0.5, seed=2).delays()


def test_giving_up_raises_max_retries_exceeded_with_every_attempts_error() -> None:
    errors = [TransportError("a"), PeerTimeout("b"), TransportError("c")]
    calls = iter(errors)

    async def failing() -> None:
        raise next(calls)

    async def scenario() -> MaxRetriesExceeded:
        with pytest.raises(MaxRetriesExceeded) as caught:
            await run_with_retry(failing, RetryPolicy(max_attempts=3), what="sync with b")
        return caught.value

    exc = run_virtual(scenario())
    assert exc.errors == errors
    assert exc.last_error is errors[-1]
    assert len(exc.attempts) == 3
    assert "sync with b: gave up after 3 attempts (max_attempts 3)" in str(exc)
    assert exc.__cause__ is errors[-1]


@pytest.mark.parametrize(
    "error",
    [
        ProtocolViolation("A", "send Ping to B", "recv Pong"),
        CapabilityDenied("A", "net:send"),
        HandshakeRefused("bad key", "refused"),
        CircuitOpen("peer", BreakerState.OPEN, 3.0),
        ValueError("a bug in the behaviour"),
    ],
)
def test_a_permanent_error_is_raised_at_once_without_retrying(error: Exception) -> None:
    flaky = Flaky(failures=5, error=error)
    trace: list[Attempt] = []

    async def scenario() -> None:
        with pytest.raises(type(error)) as caught:
            await run_with_retry(flaky, RetryPolicy(max_attempts=5), trace=trace)
        assert caught.value is error

    run_virtual(scenario())
    assert len(flaky.calls) == 1
    assert len(trace) == 1 and trace[0].error is error and trace[0].delay is None


def test_retry_if_overrides_the_classification() -> None:
    flaky = Flaky(failures=2, error=KeyError("busy"))
    policy = RetryPolicy(max_attempts=3, retry_if=lambda e: isinstance(e, KeyError))
    assert run_virtual(run_with_retry(flaky, policy)) == "ok"
    assert len(flaky.calls) == 3


def test_each_attempt_is_bounded_by_the_attempt_timeout_and_a_timeout_is_retried() -> None:
    calls: list[float] = []

    async def slow_then_fast() -> str:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) < 3:
            await asyncio.sleep(3600)
        return "done"

    trace: list[Attempt] = []
    policy = RetryPolicy(max_attempts=3, base=0.0, attempt_timeout=2.0)
    assert run_virtual(run_with_retry(slow_then_fast, policy, trace=trace)) == "done"
    assert [type(a.error) for a in trace] == [TimeoutError, TimeoutError, type(None)]
    assert trace[0].ended - trace[0].started == pytest.approx(2.0)


def test_max_elapsed_stops_before_an_attempt_that_would_start_too_late() -> None:
    flaky = Flaky(failures=100)
    policy = RetryPolicy(max_attempts=100, base=1.0, max_delay=1.0, jitter="none", max_elapsed=4.5)
    trace: list[Attempt] = []

    async def scenario() -> MaxRetriesExceeded:
        with pytest.raises(MaxRetriesExceeded) as caught:
            await run_with_retry(flaky, policy, trace=trace)
        return caught.value

    exc = run_virtual(scenario())
    # attempts at 0, 1, 2, 3, 4; a sixth would start at 5 > 4.5
    assert flaky.calls == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert "max_elapsed 4.5s" in str(exc)


def test_cancellation_is_not_swallowed() -> None:
    async def scenario() -> None:
        policy = RetryPolicy(max_attempts=100, base=10)
        task = asyncio.ensure_future(run_with_retry(Flaky(failures=100), policy))
        await asyncio.sleep(15)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run_virtual(scenario())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"base": -1.0},
        {"max_delay": float("nan")},
        {"max_elapsed": float("inf")},
        {"jitter": "sometimes"},
        {"jitter": 1.5},
    ],
)
def test_a_nonsense_policy_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@given(
    attempt=st.integers(1, 3000),
    base=st.floats(0, 100),
    max_delay=st.floats(0, 1000),
    jitter=st.sampled_from(["full", "equal", "none", 0.0, 0.25, 1.0]),
    seed=st.integers(0, 2**32),
)
def test_a_backoff_delay_stays_within_its_jitter_band_under_the_cap(
    attempt: int, base: float, max_delay: float, jitter: str | float, seed: int
) -> None:
    ceiling = backoff_ceiling(attempt, base, max_delay)
    assert 0 <= ceiling <= max_delay
    delay = backoff_delay(attempt, base, max_delay, jitter, random.Random(seed))  # type: ignore[arg-type]
    spread = jitter if isinstance(jitter, float) else 0.0
    low = {"full": 0.0, "equal": ceiling / 2, "none": ceiling}.get(str(jitter), ceiling * (1 - spread))
    high = ceiling * (1 + spread)
    assert low - 1e-9 <= delay <= high + 1e-9


@pytest.mark.parametrize("factor", [2.0, 1.5, 10.0])
def test_a_ceiling_past_the_float_range_is_the_cap_not_an_overflow(factor: float) -> None:
    # 2.0**1024 overflows a float: retry 1025 used to raise OverflowError (found by hypothesis).
    assert backoff_ceiling(1025, 1.0, 0.0, factor) == 0.0
    assert backoff_ceiling(5000, 1.0, 30.0, factor) == 30.0
    assert backoff_ceiling(3, 0.5, 30.0, factor) == min(30.0, 0.5 * factor**2)


def test_a_tiny_base_under_a_factor_past_the_float_range_is_a_number_not_an_overflow() -> None:
    # 2.0**1024 overflows although 5e-324 * 2**1024 = 2**-50 is far under the cap (found by hypothesis).
    assert math.isclose(backoff_ceiling(1025, 5e-324, 1.0), 2.0**-50, rel_tol=1e-9)
    assert backoff_ceiling(1025, 5e-324, 1e-20) == 1e-20


def test_the_runtime_retry_middleware_uses_the_same_backoff_rule() -> None:
    from aura_choreo.runtime.middleware import RetryMiddleware

    class Never:
        async def handle(self, effect: object) -> None:
            raise AssertionError

    middleware = RetryMiddleware(Never(), base_delay=0.01, max_delay=1.0, jitter=0.5, seed=3)
    rng = random.Random(3)
    assert [middleware.delay(n) for n in range(1, 9)] == [
        backoff_delay(n, 0.01, 1.0, 0.5, rng) for n in range(1, 9)
    ]


def test_the_carriers_reconnect_backoff_uses_the_same_rule_with_equal_jitter() -> None:
    from aura_choreo.transports.net.timing import Backoff

    backoff = Backoff(initial=0.1, maximum=1.0, seed=3)
    rng = random.Random(3)
    expected = []
    for n in range(8):
        ceiling = min(0.1 * 2**n, 1.0)
        expected.append(ceiling / 2 + rng.uniform(0, ceiling / 2))
    assert [backoff.next_delay() for _ in range(8)] == pytest.approx(expected)
