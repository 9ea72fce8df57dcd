"""`TransportCoordinator` (SPEC §8.7): one channel per (context, peer), pooled, health-checked, retried,
torn down when its flow budget's epoch rotates or the budget runs out, and cleaned up when idle.

It is itself a `Transport` wrapping another one (in-memory, simulated, tcp, ...): a `Node` attaches to
it exactly as to the transport underneath, and every frame the node sends goes through the channel for
(the coordinator's context, the destination). Code that talks to peers outside a session uses
`channel`, `send` and `send_with_retry` directly, with any context. One coordinator serves one device
(one `attach`), as the network transports do.

A channel is the device's state about one peer in one context: the flow epoch it was opened in, its
health, its use. The bytes travel on the one link the device has: the carriers already share one
authenticated connection per pair of devices between all sessions (SPEC §5.6), which is the pooling
the spec asks for at the socket level; the coordinator adds the per-(context, peer) lifecycle on top.

Health checks are active: a probe frame to the peer's coordinator, answered by a pong. Both start with
the byte 0xC1, which MessagePack never uses, so no envelope can be mistaken for one (a plain `Node`
receiving a probe counts it as garbage). A channel whose probes or sends fail `max_failures` times in
a row is torn down; the next use opens a fresh one. With `breakers`, each peer also has a
`resilience.CircuitBreaker` around its sends: while it is open, a send fails fast with `ChannelClosed`
(nothing is handed to the transport), and the session layer above simply retransmits later.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from aura_choreo.errors import TransportError
from aura_choreo.orchestration.retry import RetryPolicy, run_with_retry
from aura_choreo.resilience.breaker import CircuitBreaker, CircuitOpen
from aura_choreo.transports.base import Address, ClosableLink, FrameHandler, Link, Transport

__all__ = ["BudgetView", "Channel", "ChannelClosed", "CoordinatorMetrics", "TransportCoordinator"]

MAX_PENDING_ANSWERS = 256
"""Probe answers in flight at once; probes past it are dropped (a peer flooding probes gets no more)."""
PROBE = b"\xc1P"
PONG = b"\xc1Q"
_MARK = 0xC1
_NONCE = 8


class BudgetLike(Protocol):
    @property
    def epoch(self) -> int: ...

    @property
    def remaining(self) -> int: ...


class BudgetView(Protocol):
    """Where flow budgets are read (`guards.flow.FlowLedger` is one)."""

    def budget(self, context: str, peer: str) -> BudgetLike: ...


class ChannelClosed(TransportError):
    """A send on a channel that was torn down and may not be reopened yet (its budget is exhausted)."""


@dataclass
class Channel:
    """One (context, peer) channel of a coordinator."""

    context: str
    peer: Address
    epoch: int
    opened_at: float
    last_used: float
    sends: int = 0
    bytes_sent: int = 0
    failures: int = 0
    """Failures (sends or probes) in a row; reset by any success."""
    probes_ok: int = 0
    probes_failed: int = 0
    closed: str = ""
    """Why the channel was torn down (empty while it is open)."""

    @property
    def open(self) -> bool:
        return not self.closed

    @property
    def healthy(self) -> bool:
        return self.open and self.failures == 0


@dataclass
class CoordinatorMetrics:
    opened: int = 0
    reused: int = 0
    torn_down: dict[str, int] = field(default_factory=dict)
    """Channels torn down, by reason: epoch, budget, unhealthy, idle, closed."""
    sends: int = 0
    send_failures: int = 0
    retries: int = 0
    probes: int = 0
    probes_answered: int = 0
    garbage_probes: int = 0
    fail_fast: int = 0
    """Sends refused without trying because the peer's circuit breaker was open."""


class _CoordinatedLink(ClosableLink):
    def __init__(self, coordinator: TransportCoordinator, address: Address) -> None:
        super().__init__(address)
        self._coordinator = coordinator

    async def _deliver(self, to: Address, frame: bytes) -> None:
        await self._coordinator.send(self._coordinator.context, to, frame)

    def _release(self) -> None:
        self._coordinator._detach()


class TransportCoordinator(Transport):
    """Channels per (context, peer) over `inner`; see the module docstring."""

    def __init__(
        self,
        inner: Transport,
        *,
        context: str = "default",
        budgets: BudgetView | None = None,
        idle_after: float | None = 60.0,
        probe_timeout: float = 1.0,
        max_failures: int = 3,
        breakers: Callable[[Address], CircuitBreaker] | None = None,
    ) -> None:
        if max_failures < 1 or probe_timeout <= 0:
            raise ValueError("a transport coordinator needs max_failures >= 1 and probe_timeout > 0")
        self.inner = inner
        self.context = context
        self.budgets = budgets
        self.idle_after = idle_after
        self.probe_timeout = probe_timeout
        self.max_failures = max_failures
        self.breakers = breakers
        """Makes the circuit breaker of a peer, on its first send (None: no breakers)."""
        self._breakers: dict[Address, CircuitBreaker] = {}
        self.max_frame = inner.max_frame
        self.metrics = CoordinatorMetrics()
        self._channels: dict[tuple[str, Address], Channel] = {}
        self._link: Link | None = None
        self._handler: FrameHandler | None = None
        self._nonces = itertools.count(1)
        self._probes: dict[bytes, asyncio.Future[None]] = {}
        self._replies: set[asyncio.Task[None]] = set()

    @property
    def reliable(self) -> bool:  # type: ignore[override]  # a class attribute on Transport
        return self.inner.reliable

    # ------------------------------------------------------------------ Transport

    def attach(self, address: Address, on_frame: FrameHandler) -> Link:
        if self._link is not None:
            raise TransportError(
                f"a transport coordinator serves one device; {self._link.address} is attached"
            )
        self._handler = on_frame
        self._link = self.inner.attach(address, self._on_frame)
        return _CoordinatedLink(self, address)

    def _detach(self) -> None:
        link, self._link, self._handler = self._link, None, None
        if link is not None:
            link.close()
        for channel in list(self._channels.values()):
            self._tear_down(channel, "closed")

    async def aclose(self) -> None:
        self._detach()
        for task in list(self._replies):
            task.cancel()
        await asyncio.gather(*self._replies, return_exceptions=True)
        await self.inner.aclose()

    # ------------------------------------------------------------------ channels

    def channel(self, context: str, peer: Address) -> Channel:
        """The open channel for (context, peer), reused if there is one; `ChannelClosed` if the peer's
        budget in this context is exhausted. A channel from an older flow epoch is torn down first."""
        now = self._now()
        budget = self.budgets.budget(context, peer) if self.budgets is not None else None
        key = (context, peer)
        channel = self._channels.get(key)
        if channel is not None and budget is not None and budget.epoch != channel.epoch:
            self._tear_down(channel, "epoch")
            channel = None
        if budget is not None and budget.remaining <= 0:
            if channel is not None:
                self._tear_down(channel, "budget")
            raise ChannelClosed(
                f"flow budget for {peer} in context {context} is exhausted (epoch {budget.epoch}): "
                "no channel until the epoch rotates"
            )
        if channel is not None:
            self.metrics.reused += 1
            return channel
        channel = Channel(context, peer, budget.epoch if budget is not None else 0, now, now)
        self._channels[key] = channel
        self.metrics.opened += 1
        return channel

    def channels(self) -> list[Channel]:
        """The open channels."""
        return list(self._channels.values())

    def close_channel(self, context: str, peer: Address, reason: str = "closed") -> None:
        channel = self._channels.get((context, peer))
        if channel is not None:
            self._tear_down(channel, reason)

    def cleanup_idle(self, now: float | None = None) -> list[Channel]:
        """Tear down every channel unused for `idle_after` seconds; returns them."""
        if self.idle_after is None:
            return []
        now = self._now() if now is None else now
        idle = [c for c in self._channels.values() if now - c.last_used >= self.idle_after]
        for channel in idle:
            self._tear_down(channel, "idle")
        return idle

    def _tear_down(self, channel: Channel, reason: str) -> None:
        if self._channels.get((channel.context, channel.peer)) is channel:
            del self._channels[(channel.context, channel.peer)]
        if not channel.closed:
            channel.closed = reason
            self.metrics.torn_down[reason] = self.metrics.torn_down.get(reason, 0) + 1

    def _failed(self, channel: Channel) -> None:
        channel.failures += 1
        if channel.failures >= self.max_failures:
            self._tear_down(channel, "unhealthy")

    # ------------------------------------------------------------------ sending

    async def send(self, context: str, peer: Address, frame: bytes) -> None:
        """Send `frame` to `peer` on the (context, peer) channel."""
        link = self._link
        if link is None:
            raise TransportError("the transport coordinator is not attached")
        channel = self.channel(context, peer)
        channel.last_used = self._now()
        breaker = self.breaker(peer)
        token = 0
        if breaker is not None:
            try:
                token = breaker.acquire()
            except CircuitOpen as open_:
                self.metrics.fail_fast += 1
                raise ChannelClosed(f"send to {peer} in {context}: {open_}") from open_
        self.metrics.sends += 1
        try:
            await link.send(peer, frame)
        except TransportError:
            self.metrics.send_failures += 1
            self._failed(channel)
            if breaker is not None:
                breaker.record_failure(token)
            raise
        except BaseException:
            if breaker is not None:
                breaker.record_neutral(token)
            raise
        if breaker is not None:
            breaker.record_success(token)
        channel.sends += 1
        channel.bytes_sent += len(frame)
        channel.failures = 0

    def breaker(self, peer: Address) -> CircuitBreaker | None:
        """`peer`'s circuit breaker (made on first use), or None without `breakers`."""
        if self.breakers is None:
            return None
        found = self._breakers.get(peer)
        if found is None:
            found = self._breakers[peer] = self.breakers(peer)
        return found

    async def send_with_retry(
        self, context: str, peer: Address, frame: bytes, policy: RetryPolicy | None = None
    ) -> None:
        """`send`, retried with backoff on the loop's clock while the failure is retryable (a transport
        failure, not an exhausted budget); `RetriesExhausted` with every attempt's error."""
        attempts = 0

        async def attempt() -> None:
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                self.metrics.retries += 1
            try:
                await self.send(context, peer, frame)
            except ChannelClosed as exc:
                raise _Permanent(exc) from exc

        try:
            await run_with_retry(f"send to {peer} in {context}", attempt, policy or RetryPolicy())
        except _Permanent as permanent:
            raise permanent.error from None

    # ------------------------------------------------------------------ health

    async def check_health(self, context: str, peer: Address) -> bool:
        """Probe `peer`'s coordinator on the (context, peer) channel; True if it answered in time."""
        link = self._link
        if link is None:
            raise TransportError("the transport coordinator is not attached")
        channel = self.channel(context, peer)
        nonce = next(self._nonces).to_bytes(_NONCE, "big")
        answered = asyncio.get_running_loop().create_future()
        self._probes[nonce] = answered
        self.metrics.probes += 1
        try:
            await link.send(peer, PROBE + nonce)
            await asyncio.wait_for(answered, self.probe_timeout)
        except (TransportError, TimeoutError):
            channel.probes_failed += 1
            self._failed(channel)
            return False
        finally:
            self._probes.pop(nonce, None)
        channel.probes_ok += 1
        channel.failures = 0
        return True

    async def check_all(self) -> dict[tuple[str, Address], bool]:
        """Probe every open channel at once; unhealthy ones past `max_failures` are torn down."""
        keys = list(self._channels)
        results = await asyncio.gather(*(self.check_health(c, p) for c, p in keys))
        return dict(zip(keys, results, strict=True))

    # ------------------------------------------------------------------ arrivals

    def _on_frame(self, sender: Address, frame: bytes) -> None:
        if not frame or frame[0] != _MARK:
            handler = self._handler
            if handler is not None:
                handler(sender, frame)
            return
        kind, nonce = frame[:2], frame[2:]
        if len(nonce) != _NONCE or kind not in (PROBE, PONG):
            self.metrics.garbage_probes += 1
        elif kind == PONG:
            future = self._probes.get(nonce)
            if future is not None and not future.done():
                future.set_result(None)
        elif len(self._replies) >= MAX_PENDING_ANSWERS:
            self.metrics.garbage_probes += 1
        elif self._link is not None:
            # The contract: a frame handler never sends. The answer goes out from a task.
            task = asyncio.get_running_loop().create_task(self._answer(self._link, sender, nonce))
            self._replies.add(task)
            task.add_done_callback(self._replies.discard)

    async def _answer(self, link: Link, to: Address, nonce: bytes) -> None:
        try:
            await link.send(to, PONG + nonce)
            self.metrics.probes_answered += 1
        except TransportError:
            pass  # the prober counts the missing answer

    def _now(self) -> float:
        return asyncio.get_running_loop().time()


class _Permanent(Exception):
    """Carries an error past the retry loop's classification (it is never retried)."""

    def __init__(self, error: ChannelClosed) -> None:
        super().__init__(str(error))
        self.error = error
