"""`CircuitBreakerMiddleware`: a circuit breaker per peer in the effect interpreter's handler stack.

    handler = CircuitBreakerMiddleware(EndpointHandler(ep, behaviour), failure_threshold=3)

Sends to and receives from a peer go through that peer's breaker; a transport failure or a silent peer
(`PeerTimeout`) counts as the peer's failure; any other error (a protocol violation, a guard denial) is
not the peer's health and passes through without counting (`probe_timeout`: see `CircuitBreaker`;
a probe towards a peer that never answers is cancelled then). While a peer's circuit is open, effects
towards it fail fast with `CircuitOpen` before reaching the inner handler. Effects with no peer (local
actions, choices) pass straight through. A stack may share one middleware's breakers across sessions
by passing the same `breakers` dict to each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aura_choreo.errors import PeerTimeout, TransportError
from aura_choreo.resilience.breaker import CircuitBreaker
from aura_choreo.runtime.interpreter import Handler
from aura_choreo.runtime.program import Effect, OfferEffect, RecvEffect, SendEffect


def peer_failure(error: BaseException) -> bool:
    """Whether `error` says something about the peer's health (what a per-peer breaker counts)."""
    return isinstance(error, TransportError | PeerTimeout)


def peer_of(effect: Effect) -> str | None:
    """The one peer an effect talks to (None: a local step, a choice, or a receive from any of several)."""
    if isinstance(effect, SendEffect):
        return effect.to
    if isinstance(effect, RecvEffect | OfferEffect):
        return effect.from_
    return None


class CircuitBreakerMiddleware:
    """Guards each peer with its own `CircuitBreaker` (created on first use with the given settings)."""

    def __init__(
        self,
        inner: Handler,
        *,
        failure_threshold: int = 5,
        recovery_timeout: float = 30.0,
        half_open_max: int = 1,
        breakers: dict[str, CircuitBreaker] | None = None,
        clock: Callable[[], float] | None = None,
        probe_timeout: float | None = None,
    ) -> None:
        self.inner = inner
        self.breakers = {} if breakers is None else breakers
        self._settings = (failure_threshold, recovery_timeout, half_open_max)
        self._clock = clock
        self._probe_timeout = probe_timeout

    def breaker(self, peer: str) -> CircuitBreaker:
        """The breaker of `peer` (created closed on first use)."""
        breaker = self.breakers.get(peer)
        if breaker is None:
            threshold, recovery, probes = self._settings
            breaker = self.breakers[peer] = CircuitBreaker(
                threshold,
                recovery,
                probes,
                name=peer,
                is_failure=peer_failure,
                clock=self._clock,
                probe_timeout=self._probe_timeout,
            )
        return breaker

    async def handle(self, effect: Effect) -> Any:
        peer = peer_of(effect)
        if peer is None:
            return await self.inner.handle(effect)
        return await self.breaker(peer).call(lambda: self.inner.handle(effect))
