"""Retrying a coordinator's exchange: `aura_choreo.resilience`'s policy and loop, with the
coordinators' error type.

The backoff, the jitter and which failures are retryable are the resilience package's (one rule in one
place); this module only names the failure in the coordinators' hierarchy (`RetriesExhausted` is also a
`MaxRetriesExceeded`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aura_choreo.errors import AuraChoreoError
from aura_choreo.resilience.retry import Attempt, MaxRetriesExceeded, RetryPolicy
from aura_choreo.resilience.retry import run_with_retry as _run_with_retry

__all__ = ["CoordinationError", "RetriesExhausted", "RetryPolicy", "run_with_retry"]

T = TypeVar("T")


class CoordinationError(AuraChoreoError):
    """A coordinator refused or could not complete an operation (the message says which and why)."""


class RetriesExhausted(MaxRetriesExceeded, CoordinationError):
    """Every attempt failed; `errors` holds each attempt's error, in order."""

    def __init__(self, what: str, attempts: tuple[Attempt, ...], reason: str) -> None:
        super().__init__(what, attempts, reason)


async def run_with_retry(what: str, attempt: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    """Run `attempt` until it succeeds, a permanent error occurs, or the policy gives up."""
    try:
        return await _run_with_retry(attempt, policy, what=what)
    except MaxRetriesExceeded as exc:
        raise RetriesExhausted(exc.what, exc.attempts, exc.reason) from exc.last_error
