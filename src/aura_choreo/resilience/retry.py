"""Retrying a whole operation (typically a session) with exponential backoff on the event loop's clock.

    policy = RetryPolicy(max_attempts=5, base=0.1, max_delay=2.0, attempt_timeout=10.0, seed=7)
    result = await run_with_retry(lambda: run_session(protocol.session(), transport), policy)

Only failures a later attempt can fix are retried: a transport failure, a silent peer (`PeerTimeout`),
an attempt that ran past `attempt_timeout`. A protocol violation, a refused capability, an exhausted
budget, a bad receipt, a refused handshake or an open circuit are permanent: raised at once. Every
sleep is `asyncio.sleep`, so on the virtual-time loop (`aura_choreo.testing.virtual_time`) retries
cost no real time; each attempt is recorded as an `Attempt` (start, end, error, the pause after it), so
a test checks the delays a seed gives without waiting for them.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from aura_choreo.errors import (
    AuraChoreoError,
    BudgetExhausted,
    CapabilityDenied,
    HandshakeRefused,
    LeakageExceeded,
    PeerTimeout,
    ProtocolViolation,
    ReceiptError,
    TransportError,
)
from aura_choreo.resilience.breaker import CircuitOpen
from aura_choreo.transports.backoff import Jitter, backoff_delay, check_jitter

T = TypeVar("T")

RETRYABLE: tuple[type[BaseException], ...] = (TransportError, PeerTimeout, TimeoutError)
"""Failures a later attempt can fix (the default `retry_on`)."""

PERMANENT: tuple[type[BaseException], ...] = (
    ProtocolViolation,
    CapabilityDenied,
    BudgetExhausted,
    LeakageExceeded,
    ReceiptError,
    HandshakeRefused,
    CircuitOpen,
)
"""Failures no retry fixes (the default `give_up_on`); checked before `retry_on`, since a refused
handshake is also a `TransportError`."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    Before retry n (1-based) the pause is drawn by `transports.backoff.backoff_delay` from the ceiling
    `min(max_delay, base * 2**(n-1))` with `jitter` ("full" by default), from a `random.Random(seed)`
    created per `run_with_retry` call (the same seed, the same delays). `max_elapsed` (loop seconds)
    stops retrying once the next attempt would start later than that after the first; `attempt_timeout`
    bounds each attempt (`TimeoutError`, retryable). An error is retryable when `retry_if` says so, or,
    without `retry_if`, when it is an instance of `retry_on` and not of `give_up_on`.
    """

    max_attempts: int = 3
    base: float = 0.05
    max_delay: float = 2.0
    jitter: Jitter = "full"
    max_elapsed: float | None = None
    attempt_timeout: float | None = None
    seed: int = 0
    retry_on: tuple[type[BaseException], ...] = RETRYABLE
    give_up_on: tuple[type[BaseException], ...] = PERMANENT
    retry_if: Callable[[BaseException], bool] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"a retry policy needs max_attempts >= 1, got {self.max_attempts}")
        for name in ("base", "max_delay", "max_elapsed", "attempt_timeout"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ValueError(f"a retry policy's {name} must be a finite number >= 0, got {value}")
        check_jitter(self.jitter)

    def is_retryable(self, error: BaseException) -> bool:
        """Whether a later attempt may succeed after `error` (see the class docstring)."""
        if self.retry_if is not None:
            return self.retry_if(error)
        return isinstance(error, self.retry_on) and not isinstance(error, self.give_up_on)

    def delays(self, count: int | None = None) -> list[float]:
        """The pauses before retries 1..count (default: all `max_attempts` allows), as a run draws them."""
        rng = random.Random(self.seed)
        count = self.max_attempts - 1 if count is None else count
        return [backoff_delay(n, self.base, self.max_delay, self.jitter, rng) for n in range(1, count + 1)]


@dataclass(frozen=True)
class Attempt:
    """One attempt of `run_with_retry`: when it ran (loop clock), how it ended, and the pause after it."""

    number: int
    """1-based."""
    started: float
    ended: float
    error: BaseException | None = None
    delay: float | None = None
    """The pause before the next attempt; None when there is none (success, permanent error, gave up)."""

    @property
    def ok(self) -> bool:
        return self.error is None


class MaxRetriesExceeded(AuraChoreoError):
    """Every allowed attempt failed with a retryable error; `attempts` records each (with its error)."""

    def __init__(self, what: str, attempts: tuple[Attempt, ...], reason: str) -> None:
        self.what = what
        self.attempts = attempts
        self.reason = reason
        last = self.last_error
        super().__init__(
            f"{what}: gave up after {len(attempts)} attempt{'s' if len(attempts) != 1 else ''} ({reason}); "
            f"last error: {type(last).__name__}: {last}"
        )

    @property
    def errors(self) -> list[BaseException]:
        """Each attempt's error, in order."""
        return [a.error for a in self.attempts if a.error is not None]

    @property
    def last_error(self) -> BaseException | None:
        return self.attempts[-1].error if self.attempts else None


async def run_with_retry(
    operation: Callable[[], Awaitable[T]],
    policy: RetryPolicy | None = None,
    *,
    what: str = "operation",
    trace: list[Attempt] | None = None,
) -> T:
    """Run `operation` until it succeeds, fails permanently (raised as itself) or the policy gives up
    (`MaxRetriesExceeded`). Each attempt is appended to `trace` when given."""
    policy = policy or RetryPolicy()
    loop = asyncio.get_running_loop()
    rng: random.Random | None = None  # made at the first failure: seeding costs more than a session's wrapper
    attempts: list[Attempt] = []
    first = loop.time()
    for number in range(1, policy.max_attempts + 1):
        started = loop.time()
        try:
            if policy.attempt_timeout is None:
                result = await operation()
            else:
                async with asyncio.timeout(policy.attempt_timeout):
                    result = await operation()
        except Exception as error:  # classified below; BaseExceptions (cancellation) pass through
            retryable = policy.is_retryable(error)
            delay: float | None = None
            if retryable and number < policy.max_attempts:
                rng = rng or random.Random(policy.seed)
                delay = backoff_delay(number, policy.base, policy.max_delay, policy.jitter, rng)
                if policy.max_elapsed is not None and loop.time() + delay - first > policy.max_elapsed:
                    delay = None
            record = Attempt(number, started, loop.time(), error, delay)
            attempts.append(record)
            if trace is not None:
                trace.append(record)
            if not retryable:
                raise
            if delay is None:
                reason = (
                    f"max_attempts {policy.max_attempts}"
                    if number == policy.max_attempts
                    else f"max_elapsed {policy.max_elapsed:g}s"
                )
                raise MaxRetriesExceeded(what, tuple(attempts), reason) from error
            await asyncio.sleep(delay)
            continue
        if trace is not None:
            trace.append(Attempt(number, started, loop.time()))
        return result
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover
