"""CrdtCoordinator (SPEC §8.2): the three sync modes over the shipped crdt_sync.choreo."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aura_choreo.errors import PeerTimeout, ProtocolViolation
from aura_choreo.orchestration.coordinator import MODES, CrdtCoordinator
from aura_choreo.orchestration.crdt import GCounter, MVRegister, ORMap, ORSet, PNCounter
from aura_choreo.orchestration.exchange import Device, ExchangeOptions
from aura_choreo.orchestration.retry import CoordinationError, RetriesExhausted, RetryPolicy
from aura_choreo.runtime import Endpoint
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports import InMemoryTransport
from aura_choreo.transports.network import LinkModel, NetworkModel
from aura_choreo.transports.simulated import SimulatedTransport


@pytest.mark.parametrize("mode", MODES)
async def test_three_replicas_converge_in_every_mode(mode: Any) -> None:
    transport = InMemoryTransport()
    async with Device("a", transport) as a, Device("b", transport) as b, Device("c", transport) as c:
        reps = [CrdtCoordinator(d, "tags", ORSet(), mode=mode, compact_after=4) for d in (a, b, c)]
        for i in range(10):
            reps[i % 3].apply(lambda s, i=i: s.add(f"r{i % 3}", i))
        await reps[0].sync_with(reps[1])
        reps[1].apply(lambda s: s.remove("r1", 0))
        reps[2].apply(lambda s: s.add("r2", 0))  # concurrent with the remove: the add wins
        await reps[1].sync_with(reps[2])
        await reps[2].sync_with(reps[0])
        await reps[0].sync_with(reps[1])
        assert reps[0].value == reps[1].value == reps[2].value
        assert reps[0].value.value == frozenset(range(10))
        assert reps[0].metrics.syncs == 2 and reps[0].metrics.errors == 0
        assert reps[0].metrics.bytes_sent > 0 and reps[1].metrics.bytes_received > 0


async def test_delta_mode_sends_less_than_state_mode_once_synced_and_compacts() -> None:
    sizes = {}
    for mode in ("state", "delta"):
        transport = InMemoryTransport()
        async with Device("a", transport) as a, Device("b", transport) as b:
            x = CrdtCoordinator(a, "n", ORSet(), mode=mode, compact_after=3)
            y = CrdtCoordinator(b, "n", ORSet(), mode=mode)
            for i in range(200):
                x.apply(lambda c, i=i: c.add("a", i))
            await x.sync_with(y)
            before = x.metrics.bytes_sent
            for i in range(5):
                x.apply(lambda c, i=i: c.add("a", f"new {i}"))
            await x.sync_with(y)
            assert y.value.value == x.value.value and len(x.value.value) == 205
            sizes[mode] = x.metrics.bytes_sent - before
            if mode == "delta":
                assert x.metrics.compactions >= 1
    assert sizes["delta"] * 10 < sizes["state"]


async def test_operations_mode_delivers_in_causal_order_through_a_relay() -> None:
    transport = InMemoryTransport()
    async with Device("a", transport) as a, Device("b", transport) as b, Device("c", transport) as c:
        x, y, z = (CrdtCoordinator(d, "reg", MVRegister(), mode="operations") for d in (a, b, c))
        x.apply(lambda r: r.assign("a", 1))
        await x.sync_with(y)
        y.apply(lambda r: r.assign("b", 2))  # overwrites a's write: causally after it
        await y.sync_with(z)  # z gets both, a's first
        assert z.value.value == (2,)
        await z.sync_with(x)
        assert x.value.value == (2,)


async def test_nested_map_syncs_in_delta_mode() -> None:
    transport = InMemoryTransport()
    async with Device("a", transport) as a, Device("b", transport) as b:
        x, y = CrdtCoordinator(a, "m", ORMap()), CrdtCoordinator(b, "m", ORMap())
        x.apply(lambda m: m.update("a", "votes", PNCounter(), lambda c: c.increment("a", 3)))
        y.apply(lambda m: m.update("b", "votes", PNCounter(), lambda c: c.decrement("b")))
        await y.sync_with(x)
        assert x.value.value == y.value.value == {"votes": 2}


async def test_mismatched_replicas_are_refused() -> None:
    transport = InMemoryTransport()
    async with Device("a", transport) as a, Device("b", transport) as b:
        with pytest.raises(CoordinationError, match="cannot sync"):
            await CrdtCoordinator(a, "x", ORSet()).sync_with(CrdtCoordinator(b, "x", GCounter()))  # type: ignore[arg-type]
        with pytest.raises(CoordinationError, match="state mode; the peer sent PushDelta"):
            await CrdtCoordinator(a, "x", ORSet(), mode="delta").sync_with(
                CrdtCoordinator(b, "x", ORSet(), mode="state")
            )


async def test_the_monitor_checks_the_coordinator_exchange() -> None:
    """The exchange runs through the runtime: a step the protocol does not allow is a violation."""
    transport = InMemoryTransport()
    async with Device("a", transport) as a, Device("b", transport) as b:
        x, y = CrdtCoordinator(a, "x", ORSet()), CrdtCoordinator(b, "x", ORSet())

        async def skips_the_choice(self: Any, ep: Endpoint, peer: str) -> None:
            await ep.send("Responder", ep.message("PullState", state=b""))

        from aura_choreo.orchestration import coordinator

        saved = coordinator._HANDLERS["delta"]
        coordinator._HANDLERS["delta"] = (skips_the_choice, saved[1])
        try:
            with pytest.raises(ProtocolViolation):
                await x.sync_with(y)
        finally:
            coordinator._HANDLERS["delta"] = saved
        assert x.metrics.errors == 1


def test_sync_with_retry_gets_through_a_lossy_link_and_gives_up_on_a_dead_one() -> None:
    async def scenario() -> None:
        transport = SimulatedTransport(NetworkModel(LinkModel(drop=0.3, duplicate=0.2)), seed=4)
        options = ExchangeOptions(peer_timeout=0.5)
        async with Device("a", transport) as a, Device("b", transport) as b:
            x = CrdtCoordinator(a, "n", GCounter(), options=options)
            y = CrdtCoordinator(b, "n", GCounter(), options=options)
            x.apply(lambda c: c.increment("a", 4))
            await x.sync_with_retry(y, RetryPolicy(max_attempts=5))
            assert y.value.value == 4
        dead = SimulatedTransport(NetworkModel(LinkModel(drop=1.0)), seed=1)
        async with Device("a", dead) as a, Device("b", dead) as b:
            x = CrdtCoordinator(a, "n", GCounter(), options=options)
            with pytest.raises(RetriesExhausted) as caught:
                await x.sync_with_retry(CrdtCoordinator(b, "n", GCounter(), options=options), RetryPolicy(3))
            assert len(caught.value.errors) == 3 and all(
                isinstance(e, PeerTimeout) for e in caught.value.errors
            )
            assert x.metrics.errors == 3

    run_virtual(scenario())


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    assert asyncio.iscoroutinefunction(CrdtCoordinator.sync_with_retry)


async def test_coordinator_sends_pass_the_guard_chain_of_a_policy() -> None:
    """The exchange is an ordinary session: a policy's guard chain charges every send, and a spent
    flow budget stops the sync with the chain's typed error before anything is sent."""
    from aura_choreo.errors import BudgetExhausted
    from aura_choreo.guards import parse_policy
    from aura_choreo.guards.extension import guard_registry

    policy = parse_policy(
        {"signing": False, "defaults": {"flow_limit": 3}, "devices": {"a": {"capabilities": []}, "b": {}}}
    )
    options = ExchangeOptions(extensions=guard_registry(policy))
    transport = InMemoryTransport()
    async with Device("a", transport) as a, Device("b", transport) as b:
        x = CrdtCoordinator(a, "n", GCounter(), mode="state", options=options)
        y = CrdtCoordinator(b, "n", GCounter(), mode="state", options=options)
        for _ in range(3):
            x.apply(lambda c: c.increment("a"))
            await x.sync_with(y)
        assert y.value.value == 3
        x.apply(lambda c: c.increment("a"))
        with pytest.raises(BudgetExhausted):
            await x.sync_with(y)
        assert y.value.value == 3  # the refused push never left
