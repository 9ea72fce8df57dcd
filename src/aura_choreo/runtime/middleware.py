"""Middleware for the effect interpreter's handler stack: trace, metrics, retry, fault injection.

Each wraps an inner handler and is itself a handler, so they stack in any order:

    handler = RetryMiddleware(FaultInjection(EndpointHandler(ep, behaviour), rate=0.1, seed=1), attempts=5)
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aura_choreo.effects.ops import describe as describe_role_effect
from aura_choreo.errors import TransportError
from aura_choreo.projection.local_types import annotation_value
from aura_choreo.runtime.endpoint import SendFailed
from aura_choreo.runtime.interpreter import Handler
from aura_choreo.runtime.program import (
    ChooseEffect,
    Effect,
    LocalEffect,
    OfferEffect,
    RecvAnyEffect,
    RecvEffect,
    SendEffect,
)
from aura_choreo.transports.backoff import backoff_delay


def describe_effect(effect: Effect) -> str:
    """`send Ping to B`, `recv from A`, ... (for traces and errors)."""
    if isinstance(effect, SendEffect):
        return f"send {effect.label} to {effect.to}"
    if isinstance(effect, RecvEffect):
        return f"recv {effect.label or 'next'} from {effect.from_}"
    if isinstance(effect, RecvAnyEffect):
        return f"recv from any of {', '.join(effect.roles)}"
    if isinstance(effect, ChooseEffect):
        return f"choose {effect.label or '(behaviour)'}"
    if isinstance(effect, OfferEffect):
        return f"offer from {effect.from_}"
    if isinstance(effect, LocalEffect):
        return f"local {effect.action}"
    return describe_role_effect(effect)  # `sleep 1`, `store_put k`, ... (role effects, SPEC §5.8)


@dataclass(frozen=True)
class EffectRecord:
    """One handled effect: what, when (loop time), and whether it succeeded."""

    effect: str
    time: float
    ok: bool
    error: str = ""


class TraceMiddleware:
    """Records every effect that passes through, in order, into `records`."""

    def __init__(self, inner: Handler) -> None:
        self.inner = inner
        self.records: list[EffectRecord] = []

    async def handle(self, effect: Effect) -> Any:
        loop = asyncio.get_running_loop()
        try:
            result = await self.inner.handle(effect)
        except Exception as exc:
            self.records.append(EffectRecord(describe_effect(effect), loop.time(), False, type(exc).__name__))
            raise
        self.records.append(EffectRecord(describe_effect(effect), loop.time(), True))
        return result


class MetricsMiddleware:
    """Counts effects by kind, failures by kind, and the time spent in each kind (loop seconds)."""

    def __init__(self, inner: Handler) -> None:
        self.inner = inner
        self.counts: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.seconds: dict[str, float] = {}

    async def handle(self, effect: Effect) -> Any:
        kind = type(effect).__name__
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.counts[kind] += 1
        try:
            return await self.inner.handle(effect)
        except Exception:
            self.failures[kind] += 1
            raise
        finally:
            self.seconds[kind] = self.seconds.get(kind, 0.0) + loop.time() - started


class RetryMiddleware:
    """Retries sends that failed in the transport, with exponential backoff and jitter.

    A send's `retry` annotation, when present, overrides `attempts` (the number of retries). A failure
    after the monitor accepted the send (`SendFailed`) resends the same envelope; a failure before it
    (e.g. injected) runs the effect again.
    """

    def __init__(
        self,
        inner: Handler,
        *,
        attempts: int = 3,
        base_delay: float = 0.01,
        max_delay: float = 1.0,
        jitter: float = 0.5,
        seed: int = 0,
    ) -> None:
        self.inner = inner
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.jitter = jitter
        self.rng = random.Random(seed)
        self.retries = 0

    def delay(self, attempt: int) -> float:
        """Backoff before retry number `attempt` (1-based): base * 2^(attempt-1), capped, +/- jitter."""
        return backoff_delay(attempt, self.base_delay, self.max_delay, self.jitter, self.rng)

    def _attempts_for(self, effect: Effect) -> int:
        if isinstance(effect, SendEffect) and effect.step is not None:
            value = annotation_value(effect.step.annotations, "retry")
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return self.attempts

    async def handle(self, effect: Effect) -> Any:
        if not isinstance(effect, SendEffect):
            return await self.inner.handle(effect)
        attempts = self._attempts_for(effect)
        attempt = 0
        pending: SendFailed | None = None
        while True:
            try:
                if pending is None:
                    return await self.inner.handle(effect)
                await pending.retry()
                return None
            except SendFailed as failed:
                pending = failed
                error: TransportError = failed
            except TransportError as refused:
                error = refused
            attempt += 1
            if attempt > attempts:
                raise error
            self.retries += 1
            await asyncio.sleep(self.delay(attempt))


class FaultInjection:
    """Fails a seeded random fraction `rate` of the chosen effects (sends by default) before they run."""

    def __init__(
        self,
        inner: Handler,
        *,
        rate: float,
        seed: int = 0,
        effects: tuple[type[Effect], ...] = (SendEffect,),
        error: type[Exception] = TransportError,
    ) -> None:
        self.inner = inner
        self.rate = rate
        self.rng = random.Random(seed)
        self.effects = effects
        self.error = error
        self.injected = 0

    async def handle(self, effect: Effect) -> Any:
        if isinstance(effect, self.effects) and self.rng.random() < self.rate:
            self.injected += 1
            raise self.error(f"injected fault: {describe_effect(effect)}")
        return await self.inner.handle(effect)
