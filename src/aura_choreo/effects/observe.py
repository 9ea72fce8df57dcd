"""Middleware that sees role effects: a shared log of what every role did, and fault injection
(a `sleep` delayed, a `store_put` failed) for testing what role code does when its device misbehaves."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

from aura_choreo.effects.ops import Effect, EffectError, Handler, Sleep, StorePut, describe


@dataclass(frozen=True)
class EffectEvent:
    """One role effect as the log saw it: who, what, and whether it succeeded (no time: modes differ)."""

    session: str
    role: str
    effect: str
    ok: bool
    error: str = ""


class EffectLog:
    """A log every endpoint of a run writes to; the log itself is the middleware factory."""

    def __init__(self) -> None:
        self.events: list[EffectEvent] = []

    def __call__(self, inner: Handler, session: str, role: str) -> Handler:
        return _Recorder(self, inner, session, role)

    def of(self, role: str) -> list[EffectEvent]:
        """`role`'s events, in order."""
        return [event for event in self.events if event.role == role]


class _Recorder:
    def __init__(self, log: EffectLog, inner: Handler, session: str, role: str) -> None:
        self.log, self.inner, self.session, self.role = log, inner, session, role

    async def handle(self, effect: Effect) -> Any:
        try:
            result = await self.inner.handle(effect)
        except Exception as exc:
            self.log.events.append(
                EffectEvent(self.session, self.role, describe(effect), False, type(exc).__name__)
            )
            raise
        self.log.events.append(EffectEvent(self.session, self.role, describe(effect), True))
        return result


class EffectFaults:
    """Delays every `sleep` by `sleep_delay` seconds and fails a seeded fraction of `store_put`s."""

    def __init__(
        self, inner: Handler, *, sleep_delay: float = 0.0, store_put_failure: float = 0.0, seed: int = 0
    ) -> None:
        self.inner = inner
        self.sleep_delay = sleep_delay
        self.store_put_failure = store_put_failure
        self.rng = random.Random(seed)
        self.delayed = 0
        self.failed = 0

    async def handle(self, effect: Effect) -> Any:
        if isinstance(effect, Sleep) and self.sleep_delay > 0:
            self.delayed += 1
            await asyncio.sleep(self.sleep_delay)
        elif isinstance(effect, StorePut) and self.rng.random() < self.store_put_failure:
            self.failed += 1
            raise EffectError(describe(effect), "injected storage failure")
        return await self.inner.handle(effect)
