"""Resilience (SPEC §9): retries with backoff, circuit breakers, saga journaling, checkpoints.

Every wait is on the event loop's clock, so under the simulator's virtual time retries and recovery
periods cost no real time.
"""

from aura_choreo.resilience.breaker import (
    BreakerMetrics,
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    ProbeTimedOut,
)
from aura_choreo.resilience.checkpoint import CheckpointError, Checkpoints
from aura_choreo.resilience.middleware import CircuitBreakerMiddleware
from aura_choreo.resilience.recovery import Outage, RecoveryLog, run_recoverable
from aura_choreo.resilience.retry import (
    PERMANENT,
    RETRYABLE,
    Attempt,
    MaxRetriesExceeded,
    RetryPolicy,
    run_with_retry,
)
from aura_choreo.resilience.saga import (
    SagaError,
    SagaLog,
    SagaOutcome,
    SagaResult,
    SagaStep,
    recover_sagas,
    run_saga,
)

__all__ = [
    "PERMANENT",
    "RETRYABLE",
    "Attempt",
    "BreakerMetrics",
    "BreakerState",
    "CheckpointError",
    "Checkpoints",
    "CircuitBreaker",
    "CircuitBreakerMiddleware",
    "CircuitOpen",
    "MaxRetriesExceeded",
    "Outage",
    "ProbeTimedOut",
    "RecoveryLog",
    "RetryPolicy",
    "SagaError",
    "SagaLog",
    "SagaOutcome",
    "SagaResult",
    "SagaStep",
    "recover_sagas",
    "run_recoverable",
    "run_saga",
    "run_with_retry",
]
