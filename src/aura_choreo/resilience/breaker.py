"""A circuit breaker on the event loop's clock: stop calling a peer that keeps failing, probe it later.

    breaker = CircuitBreaker(failure_threshold=5, recovery_timeout=30.0, half_open_max=1)
    result = await breaker.call(lambda: run_session(...))   # CircuitOpen while open

States and transitions (everything that changes state is in this module, in `_on_*`):

- closed: calls pass; `failure_threshold` consecutive failures open the circuit (a success resets
  the count);
- open: calls fail fast with `CircuitOpen` (nothing runs) until `recovery_timeout` seconds have passed
  since it opened; then it is half-open;
- half-open: at most `half_open_max` probe calls run at a time, counting probes of an earlier half-open
  period that are still running (others fail fast); a failing probe
  opens the circuit again (a new recovery period); `success_threshold` successful probes (default
  `half_open_max`) close it. With `probe_timeout`, a probe `call` still running after that many
  seconds is cancelled and counts as a failing probe (`ProbeTimedOut`): without it, a probe that never
  returns holds its slot, and the circuit stays half-open, refusing every other call, for ever.

Which errors count as failures is `is_failure` (default: every `Exception`); an error that does not
count passes through and changes nothing. Time is read from `clock` (default: the running loop's
`time()`), so under the virtual-time loop a recovery period costs no real time; a probe's timeout is
always on the loop's clock (`asyncio.timeout`).

SPEC §9 names no probe timeout; `probe_timeout` follows resilience4j's `maxWaitDurationInHalfOpenState`
(the longest a breaker stays half-open waiting for its probes, then it opens again; by default,
there as here, no limit, so existing callers keep their behaviour). Unlike resilience4j, the late probe
is also cancelled: this breaker keeps counting a running probe against `half_open_max`, so a probe
left running would still hold its slot in the next half-open period. Only `call` can bound a probe;
a caller of `acquire`/`record_*` bounds its own.
"""

from __future__ import annotations

import asyncio
import enum
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aura_choreo.errors import AuraChoreoError

T = TypeVar("T")


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class ProbeTimedOut(AuraChoreoError, TimeoutError):
    """A half-open breaker's probe ran past `probe_timeout`: it was cancelled and counted as a failing
    probe (the circuit is open again)."""

    def __init__(self, name: str, seconds: float) -> None:
        self.name = name
        self.seconds = seconds
        where = f"circuit {name!r}" if name else "circuit"
        super().__init__(
            f"{where}: the probe call ran past its {seconds:.3g}s probe_timeout and was cancelled; "
            "the circuit is open again (the peer is not taken as recovered)"
        )


class CircuitOpen(AuraChoreoError):
    """The breaker refused the call without running it: the circuit is open (or half-open and full)."""

    def __init__(self, name: str, state: BreakerState, retry_after: float) -> None:
        self.name = name
        self.state = state
        self.retry_after = retry_after
        """Seconds until the breaker admits a probe (0 when half-open and waiting for probes to end)."""
        where = f"circuit {name!r}" if name else "circuit"
        if state is BreakerState.OPEN:
            detail = f"is open; next probe in {retry_after:.3g}s"
        else:
            detail = "is half-open and its probes are all in flight"
        super().__init__(f"{where} {detail}: the call was not made (fail fast)")


@dataclass
class BreakerMetrics:
    """Counters of one breaker (mutable: it is the breaker's own record)."""

    calls: int = 0
    successes: int = 0
    failures: int = 0
    rejected: int = 0
    """Calls refused with `CircuitOpen`."""
    opened: int = 0
    """Times the circuit opened (from closed or half-open)."""
    closed: int = 0
    """Times it closed again after successful probes."""


def _every_exception(_error: BaseException) -> bool:
    return True


class CircuitBreaker:
    """See the module docstring. One breaker guards one peer or operation; not shared across loops."""

    def __init__(
        self,
        failure_threshold: int = 5,
        recovery_timeout: float = 30.0,
        half_open_max: int = 1,
        *,
        success_threshold: int | None = None,
        name: str = "",
        is_failure: Callable[[BaseException], bool] = _every_exception,
        clock: Callable[[], float] | None = None,
        probe_timeout: float | None = None,
    ) -> None:
        if failure_threshold < 1 or half_open_max < 1:
            raise ValueError("a circuit breaker needs failure_threshold >= 1 and half_open_max >= 1")
        if not recovery_timeout >= 0:  # also refuses nan
            raise ValueError(f"recovery_timeout must be >= 0, got {recovery_timeout}")
        if probe_timeout is not None and not 0 < probe_timeout < math.inf:
            raise ValueError(f"probe_timeout must be > 0 and finite (or None: no limit), got {probe_timeout}")
        self.probe_timeout = probe_timeout
        self.failure_threshold = failure_threshold
        self.recovery_timeout = recovery_timeout
        self.half_open_max = half_open_max
        self.success_threshold = half_open_max if success_threshold is None else success_threshold
        if self.success_threshold < 1:
            raise ValueError("success_threshold must be >= 1")
        self.name = name
        self.is_failure = is_failure
        self._clock = clock
        self.metrics = BreakerMetrics()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._probe_successes = 0
        self._in_flight = 0
        """Probes running now, admitted in this or an earlier half-open period: a probe that outlives
        its period (the circuit opened again meanwhile) still loads the peer, so it still counts."""
        self._opened_at = 0.0
        self._generation = 0
        """Bumped at every state change, so a call admitted before it cannot count in the new state."""

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    @property
    def state(self) -> BreakerState:
        """The state now (an open circuit whose recovery time has passed reads as half-open)."""
        if self._state is BreakerState.OPEN and self._now() >= self._opened_at + self.recovery_timeout:
            self._state = BreakerState.HALF_OPEN
            self._probe_successes = 0
            self._generation += 1
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def acquire(self) -> int:
        """Admit one call or raise `CircuitOpen`; an admitted call must end in exactly one `record_*`,
        given the token returned here (the state's generation, times two, plus one for a probe)."""
        state = self.state
        if state is BreakerState.OPEN or (
            state is BreakerState.HALF_OPEN and self._in_flight >= self.half_open_max
        ):
            self.metrics.rejected += 1
            retry_after = max(0.0, self._opened_at + self.recovery_timeout - self._now())
            raise CircuitOpen(self.name, state, retry_after if state is BreakerState.OPEN else 0.0)
        self.metrics.calls += 1
        if state is BreakerState.HALF_OPEN:
            self._in_flight += 1
            return self._generation * 2 + 1
        return self._generation * 2

    def _settle(self, token: int) -> bool:
        """End the call `token` admitted: a probe stops counting as in flight. Whether its outcome
        counts (it was admitted in the current state)."""
        if token & 1:
            self._in_flight = max(0, self._in_flight - 1)
        return token >> 1 == self._generation

    def record_success(self, token: int) -> None:
        """The admitted call succeeded."""
        self.metrics.successes += 1
        if not self._settle(token):
            return
        if self._state is BreakerState.HALF_OPEN:
            self._probe_successes += 1
            if self._probe_successes >= self.success_threshold:
                self._state = BreakerState.CLOSED
                self._failures = 0
                self._generation += 1
                self.metrics.closed += 1
        elif self._state is BreakerState.CLOSED:
            self._failures = 0

    def record_failure(self, token: int) -> None:
        """The admitted call failed (with an error that counts)."""
        self.metrics.failures += 1
        if not self._settle(token):
            return
        if self._state is BreakerState.HALF_OPEN:
            self._open()
        elif self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._open()

    def record_neutral(self, token: int) -> None:
        """The admitted call ended with an error that does not count (or was cancelled)."""
        self._settle(token)

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._now()
        self._failures = 0
        self._probe_successes = 0
        self._generation += 1
        self.metrics.opened += 1

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run `operation` through the breaker (`CircuitOpen` without running it while open)."""
        token = self.acquire()
        if token & 1 and self.probe_timeout is not None:
            operation = _bounded(operation, self.name, self.probe_timeout)
        try:
            result = await operation()
        except Exception as error:
            # A late probe fails whatever `is_failure` says: the breaker itself judged it.
            if isinstance(error, ProbeTimedOut) or self.is_failure(error):
                self.record_failure(token)
            else:
                self.record_neutral(token)
            raise
        except BaseException:
            self.record_neutral(token)
            raise
        self.record_success(token)
        return result


def _bounded(operation: Callable[[], Awaitable[T]], name: str, seconds: float) -> Callable[[], Awaitable[T]]:
    """`operation`, cancelled after `seconds` on the loop's clock with `ProbeTimedOut`."""

    async def bounded() -> T:
        limit = asyncio.timeout(seconds)
        try:
            async with limit:
                return await operation()
        except TimeoutError:
            if limit.expired():
                raise ProbeTimedOut(name, seconds) from None
            raise

    return bounded
