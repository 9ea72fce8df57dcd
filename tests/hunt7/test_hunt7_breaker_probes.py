"""A half-open circuit breaker let more than `half_open_max` probes run at once, found by hunt7.

`CircuitBreaker` promises at most `half_open_max` probe calls at a time while half-open. But when a
probe failed and opened the circuit again, the count of probes in flight was reset to 0, although the
other probes of that period were still running; at the next half-open period new probes were admitted
beside them. With `half_open_max=2`, a slow probe plus two new ones loaded the recovering peer with 3
calls. Found by a hypothesis property on the virtual-time loop; fixed in resilience/breaker.py (a
token says whether its call is a probe, and a probe counts until it ends, whatever period it was
admitted in).
"""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from aura_choreo.errors import TransportError
from aura_choreo.resilience.breaker import BreakerState, CircuitBreaker, CircuitOpen
from aura_choreo.testing.virtual_time import run_virtual


class _Peer:
    """Counts the calls running against it now, and the most ever."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0

    async def call(self, seconds: float, ok: bool) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(seconds)
            if not ok:
                raise TransportError("peer down")
        finally:
            self.running -= 1


async def _attempt(breaker: CircuitBreaker, peer: _Peer, at: float, seconds: float, ok: bool) -> str:
    await asyncio.sleep(at)
    try:
        await breaker.call(lambda: peer.call(seconds, ok))
    except CircuitOpen:
        return "rejected"
    except TransportError:
        return "failed"
    return "ok"


def test_a_slow_probe_of_an_earlier_period_still_counts() -> None:
    breaker = CircuitBreaker(failure_threshold=1, recovery_timeout=10.0, half_open_max=2)
    peer = _Peer()

    async def scenario() -> list[str]:
        return list(
            await asyncio.gather(
                _attempt(breaker, peer, 0.0, 0.0, False),  # opens the circuit
                _attempt(breaker, peer, 10.0, 100.0, True),  # probe 1: slow
                _attempt(breaker, peer, 10.0, 1.0, False),  # probe 2: fails, the circuit opens again
                _attempt(breaker, peer, 21.0, 1.0, True),  # half-open again: one slot is free
                _attempt(breaker, peer, 21.0, 1.0, True),  # probe 1 still holds the other
            )
        )

    outcomes = run_virtual(scenario())
    assert peer.most == 2
    assert outcomes[:3] == ["failed", "ok", "failed"]
    assert sorted(outcomes[3:]) == ["ok", "rejected"]
    assert breaker.state is BreakerState.HALF_OPEN or breaker.state is BreakerState.CLOSED


CALLS = st.lists(st.tuples(st.floats(0, 5), st.floats(0, 3), st.booleans()), min_size=1, max_size=30)


@settings(max_examples=100, deadline=None)
@given(CALLS, st.integers(1, 4), st.floats(0, 4), st.integers(1, 3), st.integers(1, 3))
def test_half_open_never_runs_more_probes_than_allowed(
    calls: list[tuple[float, float, bool]], threshold: int, recovery: float, probes: int, successes: int
) -> None:
    breaker = CircuitBreaker(threshold, recovery, probes, success_threshold=successes)
    peer = _Peer()
    probing: list[int] = []
    most = [0]

    async def one(at: float, seconds: float, ok: bool) -> None:
        await asyncio.sleep(at)
        probe = breaker.state is BreakerState.HALF_OPEN

        async def operation() -> None:
            probing.append(1) if probe else None
            most[0] = max(most[0], len(probing))
            try:
                await peer.call(seconds, ok)
            finally:
                probing.pop() if probe else None

        try:
            await breaker.call(operation)
        except (CircuitOpen, TransportError):
            pass

    async def scenario() -> None:
        await asyncio.gather(*(one(*c) for c in calls))

    run_virtual(scenario())
    assert most[0] <= probes
    assert breaker.metrics.calls + breaker.metrics.rejected == len(calls)
    assert breaker.metrics.successes + breaker.metrics.failures == breaker.metrics.calls
