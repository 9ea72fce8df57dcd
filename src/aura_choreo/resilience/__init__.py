"""Resilience (SPEC §9): retries with backoff, circuit breakers, saga journaling, checkpoints.

Every wait is on the event loop's clock, so under the simulator's virtual time retries and recovery
periods cost no real time.
"""

from aura_choreo.resilience.breaker import BreakerMetrics, BreakerState, CircuitBreaker, CircuitOpen
from aura_choreo.resilience.middleware import CircuitBreakerMiddleware
from aura_choreo.resilience.retry import (
    PERMANENT,
    RETRYABLE,
    Attempt,
    MaxRetriesExceeded,
    RetryPolicy,
    run_with_retry,
)

__all__ = [
    "PERMANENT",
    "RETRYABLE",
    "Attempt",
    "BreakerMetrics",
    "BreakerState",
    "CircuitBreaker",
    "CircuitBreakerMiddleware",
    "CircuitOpen",
    "MaxRetriesExceeded",
    "RetryPolicy",
    "run_with_retry",
]
