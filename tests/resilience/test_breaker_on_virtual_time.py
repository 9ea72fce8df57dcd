"""A circuit breaker in an async test on the virtual-time loop (`@pytest.mark.virtual_time`, the
conftest's `pytest_asyncio_loop_factories` hook, which replaces overriding pytest-asyncio's deprecated
`event_loop_policy` fixture): an hour's recovery period and a ten-minute probe timeout cost no
wall-clock time. An unmarked async test runs on asyncio's own loop."""

from __future__ import annotations

import asyncio

import pytest

from aura_choreo.errors import TransportError
from aura_choreo.resilience import BreakerState, CircuitBreaker, ProbeTimedOut
from aura_choreo.testing.virtual_time import VirtualTimeEventLoop


async def fail() -> None:
    raise TransportError("down")


@pytest.mark.virtual_time
async def test_a_marked_test_runs_an_hours_recovery_on_virtual_time() -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeEventLoop)
    breaker = CircuitBreaker(1, recovery_timeout=3600.0, probe_timeout=600.0)
    started = loop.time()
    with pytest.raises(TransportError):
        await breaker.call(fail)
    await asyncio.sleep(3600.0)
    with pytest.raises(ProbeTimedOut):
        await breaker.call(lambda: asyncio.sleep(10**6))
    assert loop.time() - started == pytest.approx(4200.0)
    assert breaker.state is BreakerState.OPEN


async def test_an_unmarked_test_runs_on_asyncios_own_loop() -> None:
    assert not isinstance(asyncio.get_running_loop(), VirtualTimeEventLoop)
