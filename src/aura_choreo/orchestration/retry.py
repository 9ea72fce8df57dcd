"""Retrying an exchange: exponential backoff with seeded full jitter on the event loop's clock.

Only failures a later attempt can fix are retried (a silent peer, a transport failure); a protocol
violation, a refused capability or undecodable bytes are permanent and raised at once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aura_choreo.errors import AuraChoreoError, PeerTimeout, TransportError

T = TypeVar("T")

RETRYABLE: tuple[type[BaseException], ...] = (PeerTimeout, TransportError)


class CoordinationError(AuraChoreoError):
    """A coordinator refused or could not complete an operation (the message says which and why)."""


class RetriesExhausted(CoordinationError):
    """Every attempt failed; `errors` holds each attempt's error, in order."""

    def __init__(self, what: str, errors: list[BaseException]) -> None:
        self.errors = errors
        last = errors[-1] if errors else None
        super().__init__(f"{what}: {len(errors)} attempts failed; last: {type(last).__name__}: {last}")


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` tries; before try n+1 sleep a uniform random time in [0, min(max_delay, base*2^n)]."""

    max_attempts: int = 3
    base: float = 0.05
    max_delay: float = 2.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base < 0 or self.max_delay < 0:
            raise ValueError("a retry policy needs max_attempts >= 1 and non-negative delays")


async def run_with_retry(what: str, attempt: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    """Run `attempt` until it succeeds, a permanent error occurs, or the policy gives up."""
    rng = random.Random(policy.seed)
    errors: list[BaseException] = []
    for number in range(policy.max_attempts):
        try:
            return await attempt()
        except RETRYABLE as exc:
            errors.append(exc)
        if number + 1 < policy.max_attempts:
            await asyncio.sleep(rng.uniform(0, min(policy.max_delay, policy.base * 2**number)))
    raise RetriesExhausted(what, errors)
