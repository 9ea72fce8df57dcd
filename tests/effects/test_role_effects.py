"""`ep.effects` on the endpoint: each effect through the handler stack, with middleware seeing it."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time

import pytest

from aura_choreo.effects import (
    DeviceResources,
    EffectError,
    EffectFaults,
    EffectLog,
    EffectStack,
    MemoryStorage,
    role_effects,
)
from aura_choreo.journal.facts import Fact, FactId
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.runner import run_session
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.inmemory import InMemoryTransport
from aura_choreo.transports.net.identity import Identity

HELLO = choreography(
    """
    choreography Hello {
        roles: A, B;
        A -> B: Hi(n: i64);
    }
    """
)


def _with(stack: EffectStack):  # type: ignore[no-untyped-def]
    return dataclasses.replace(HELLO.session(peer_timeout=None), effects=stack)


async def _run(stack: EffectStack, a, b=None):  # type: ignore[no-untyped-def]
    async def default_b(ep: Endpoint) -> None:
        await ep.recv("A")

    async def wrapped_a(ep: Endpoint) -> object:
        result = await a(ep)
        await ep.send("B", ep.message("Hi", n=1))
        return result

    results = await run_session(_with(stack), InMemoryTransport(), {"A": wrapped_a, "B": b or default_b})
    return results["A"]


async def test_now_and_sleep_use_the_loop_clock() -> None:
    async def code(ep: Endpoint) -> tuple[float, float, float]:
        before = await ep.effects.now()
        await ep.effects.sleep(0.01)
        return before, await ep.effects.now(), asyncio.get_running_loop().time()

    before, after, loop_now = await _run(EffectStack(), code)
    assert after - before >= 0.01
    assert after <= loop_now


def test_a_sleep_of_an_hour_under_virtual_time_takes_no_real_time() -> None:
    async def code(ep: Endpoint) -> float:
        start = await ep.effects.now()
        await ep.effects.sleep(3600)
        return await ep.effects.now() - start

    started = time.monotonic()
    slept = run_virtual(_run(EffectStack(), code))
    assert slept == pytest.approx(3600)
    assert time.monotonic() - started < 60  # an hour of loop time, not of wall time


async def test_random_is_seeded_per_session_and_role() -> None:
    async def draws(ep: Endpoint) -> list[float]:
        return [await ep.effects.random() for _ in range(3)]

    def run(seed: int | None, session: str) -> list[float]:
        stack = EffectStack(seed=seed)
        session_ = dataclasses.replace(HELLO.session(session_id=session), effects=stack)

        async def b(ep: Endpoint) -> None:
            await ep.recv("A")

        async def a(ep: Endpoint) -> list[float]:
            values = await draws(ep)
            await ep.send("B", ep.message("Hi", n=1))
            return values

        return asyncio.run(run_session(session_, InMemoryTransport(), {"A": a, "B": b}))["A"]  # type: ignore[no-any-return]

    assert await asyncio.to_thread(run, 7, "s1") == await asyncio.to_thread(run, 7, "s1")
    assert await asyncio.to_thread(run, 7, "s1") != await asyncio.to_thread(run, 8, "s1")
    assert await asyncio.to_thread(run, 7, "s1") != await asyncio.to_thread(run, 7, "s2")
    production = await asyncio.to_thread(run, None, "s1")
    assert all(0.0 <= x < 1.0 for x in production)


async def test_sign_and_verify_with_device_keys() -> None:
    alice, bob = Identity.generate("A"), Identity.generate("B")
    keys = {"A": alice.public_bytes, "B": bob.public_bytes}
    stack = EffectStack([DeviceResources("A", alice, keys), DeviceResources("B", bob, keys)])

    async def a(ep: Endpoint) -> tuple[bool, bool, bool]:
        signature = await ep.effects.sign(b"approve")
        return (
            await ep.effects.verify("A", b"approve", signature),
            await ep.effects.verify("A", b"tampered", signature),
            await ep.effects.verify("B", b"approve", signature),
        )

    assert await _run(stack, a) == (True, False, False)


async def test_sign_without_a_device_key_is_a_typed_error() -> None:
    async def a(ep: Endpoint) -> bytes:
        return await ep.effects.sign(b"x")

    with pytest.raises(EffectError, match="has no key"):
        await _run(EffectStack(), a)


async def test_verify_of_an_unknown_device_is_false_not_an_error() -> None:
    async def a(ep: Endpoint) -> bool:
        return await ep.effects.verify("Mallory", b"x", b"\0" * 64)

    assert await _run(EffectStack(), a) is False


async def test_store_put_is_seen_by_a_later_session_on_the_same_device() -> None:
    stack = EffectStack()

    async def put(ep: Endpoint) -> None:
        await ep.effects.store_put("counter", 41)

    async def get(ep: Endpoint) -> object:
        return await ep.effects.store_get("counter"), await ep.effects.store_get("missing")

    await _run(stack, put)
    assert await _run(stack, get) == (41, None)


async def test_journal_facts_reads_the_devices_journal_by_name_and_data() -> None:
    class Journal:
        def facts(self) -> list[Fact]:
            return [
                Fact(FactId("A", 2), "Approved", "Approval", "s1", "A", data={"ticket": 7}),
                Fact(FactId("A", 1), "Approved", "Approval", "s0", "A", data={"ticket": 6}),
                Fact(FactId("A", 3), "Rejected", "Approval", "s1", "A"),
            ]

    stack = EffectStack([DeviceResources("A", journal=Journal())])

    async def a(ep: Endpoint) -> tuple[list[int], list[int], int]:
        every = await ep.effects.journal_facts("Approved")
        seven = await ep.effects.journal_facts("Approved", data={"ticket": 7})
        none = await ep.effects.journal_facts("Approved", session="nope")
        return [f.id.counter for f in every], [f.id.counter for f in seven], len(none)

    assert await _run(stack, a) == ([1, 2], [2], 0)


async def test_middleware_sees_every_role_effect_and_faults_can_fail_a_store_put_and_delay_a_sleep() -> None:
    log = EffectLog()
    faults: list[EffectFaults] = []

    def inject(inner, session, role):  # type: ignore[no-untyped-def]
        faults.append(EffectFaults(inner, sleep_delay=5.0, store_put_failure=1.0))
        return faults[-1]

    stack = EffectStack(middleware=[log, inject])

    async def a(ep: Endpoint) -> float:
        start = await ep.effects.now()
        await ep.effects.sleep(1.0)
        slept = await ep.effects.now() - start
        with pytest.raises(EffectError, match="injected"):
            await ep.effects.store_put("k", b"v")
        await ep.effects.random()
        return slept

    slept = await asyncio.wait_for(asyncio.shield(_in_virtual_time(stack, a)), 60)
    assert slept == pytest.approx(6.0)  # the 1 s sleep was delayed by 5 s
    assert [(e.effect, e.ok) for e in log.of("A")] == [
        ("now", True),
        ("sleep 1", True),
        ("now", True),
        ("store_put k", False),
        ("random", True),
    ]
    assert faults[0].failed == 1 and faults[0].delayed == 1
    assert await MemoryStorage().get("k") is None


async def _in_virtual_time(stack: EffectStack, code):  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(run_virtual, _run(stack, code))


async def test_behaviours_reach_their_roles_effects_through_role_effects() -> None:
    stack = EffectStack()

    class Behaviour:
        async def Hi(self, env: dict[str, object]) -> dict[str, int]:
            await role_effects().store_put("sent", 1)
            return {"n": 3}

    async def b(ep: Endpoint) -> int:
        return int((await ep.recv("A")).n)

    results = await run_session(_with(stack), InMemoryTransport(), {"A": Behaviour(), "B": b})
    assert results["B"] == 3
    assert await stack.resources("A").storage.get("sent") == 1
    assert await stack.resources("B").storage.get("sent") is None


async def test_the_runtimes_trace_and_metrics_middleware_wrap_role_effects_too() -> None:
    from aura_choreo.runtime.middleware import MetricsMiddleware, TraceMiddleware

    traces: list[TraceMiddleware] = []
    metrics: list[MetricsMiddleware] = []

    def trace(inner, session, role):  # type: ignore[no-untyped-def]
        traces.append(TraceMiddleware(inner))
        return traces[-1]

    def count(inner, session, role):  # type: ignore[no-untyped-def]
        metrics.append(MetricsMiddleware(inner))
        return metrics[-1]

    async def a(ep: Endpoint) -> None:
        await ep.effects.sleep(0)
        await ep.effects.store_put("k", 1)
        await ep.effects.store_get("k")

    await _run(EffectStack(middleware=[trace, count]), a)
    assert [r.effect for r in traces[0].records] == ["sleep 0", "store_put k", "store_get k"]
    assert metrics[0].counts == {"Sleep": 1, "StorePut": 1, "StoreGet": 1}


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf, -math.inf])
def test_a_sleep_that_is_not_a_finite_non_negative_time_is_refused(seconds: float) -> None:
    from aura_choreo.effects import DeviceHandler, Effects, session_rng

    effects = Effects(DeviceHandler(DeviceResources("A"), session_rng(0, "s", "A")))
    with pytest.raises(EffectError, match="finite, non-negative"):
        asyncio.run(effects.sleep(seconds))
