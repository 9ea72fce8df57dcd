"""`TransportCoordinator` (SPEC §8.7) over the in-memory and the simulated transports: sessions run over
it unchanged, channels are pooled per (context, peer), probed, retried, torn down on epoch rotation,
budget exhaustion, failures and idleness. Virtual time throughout."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from aura_choreo.errors import TransportError
from aura_choreo.guards.flow import FlowLedger
from aura_choreo.orchestration.retry import RetriesExhausted, RetryPolicy
from aura_choreo.orchestration.transport_coordinator import (
    PROBE,
    ChannelClosed,
    TransportCoordinator,
)
from aura_choreo.protocol import choreography
from aura_choreo.runtime.node import Node
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.base import Address, FrameHandler, Link, Transport
from aura_choreo.transports.inmemory import InMemoryTransport
from aura_choreo.transports.network import LinkModel, NetworkModel
from aura_choreo.transports.simulated import SimulatedTransport

PING = choreography("choreography P { roles: A, B; A -> B: Ping(n: i64); B -> A: Pong(n: i64); }")
LOSSY = NetworkModel(LinkModel(drop=0.2, duplicate=0.1))

TRANSPORTS: dict[str, Callable[[], Transport]] = {
    "inmemory": InMemoryTransport,
    "simulated": lambda: SimulatedTransport(LOSSY, seed=7),
}


class Shared(Transport):
    """One inner transport seen by several coordinators (one per device), never closed by them."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.reliable = inner.reliable

    def attach(self, address: Address, on_frame: FrameHandler) -> Link:
        return self.inner.attach(address, on_frame)


async def ping_session(na: Node, nb: Node, n: int) -> int:
    session = PING.session(devices={"A": "dev-a", "B": "dev-b"})

    async def role_a() -> int:
        async with session.endpoint("A", na) as ep:
            await ep.send("B", ep.message("Ping", n=n))
            return int((await ep.recv("B")).n)

    async def role_b() -> None:
        async with session.endpoint("B", nb) as ep:
            got = await ep.recv("A")
            await ep.send("A", ep.message("Pong", n=got.n + 1))

    result, _ = await asyncio.gather(role_a(), role_b())
    return result


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_sessions_run_over_coordinators_and_reuse_one_channel_per_context_and_peer(kind: str) -> None:
    async def main() -> tuple[list[int], TransportCoordinator, list[tuple[str, str]]]:
        inner = Shared(TRANSPORTS[kind]())
        a = TransportCoordinator(inner, context="ctx")
        b = TransportCoordinator(inner, context="ctx")
        # Long-lived nodes (as `exchange.Device` keeps them): every session shares them.
        async with (
            Node(a, "dev-a", retransmit_after=0.05) as na,
            Node(b, "dev-b", retransmit_after=0.05) as nb,
        ):
            results = [await ping_session(na, nb, n) for n in range(3)]
            open_channels = [(c.context, c.peer) for c in a.channels()]
        return results, a, open_channels

    results, a, open_channels = run_virtual(main())
    assert results == [1, 2, 3]
    assert open_channels == [("ctx", "dev-b")]
    assert (
        a.metrics.opened == 1 and a.metrics.reused == a.metrics.sends - 1 >= 2
    )  # three sessions, one channel
    assert a.metrics.torn_down == {"closed": 1}  # when the node left


def test_one_channel_per_context_and_peer_is_pooled() -> None:
    async def main() -> None:
        inner = Shared(InMemoryTransport())
        a, b = TransportCoordinator(inner), TransportCoordinator(inner)
        got: list[bytes] = []
        a.attach("a", lambda s, f: None)
        b.attach("b", lambda s, f: got.append(f))
        first = a.channel("c1", "b")
        assert a.channel("c1", "b") is first and a.channel("c2", "b") is not first
        for i in range(5):
            await a.send("c1", "b", b"frame %d" % i)
        assert got == [b"frame %d" % i for i in range(5)]
        assert first.sends == 5 and first.bytes_sent == sum(len(f) for f in got)
        assert a.metrics.opened == 2 and a.metrics.reused >= 6
        assert {(c.context, c.peer) for c in a.channels()} == {("c1", "b"), ("c2", "b")}

    run_virtual(main())


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_health_checks_answer_for_a_live_peer_and_tear_down_a_dead_one(kind: str) -> None:
    async def main() -> None:
        inner = Shared(TRANSPORTS[kind]())
        a = TransportCoordinator(inner, probe_timeout=0.5, max_failures=2)
        b = TransportCoordinator(inner, probe_timeout=0.5)
        a.attach("a", lambda s, f: None)
        b.attach("b", lambda s, f: None)
        # On the lossy network a probe or its answer may be lost: a few tries find the live peer.
        assert any([await a.check_health("ctx", "b") for _ in range(5)])
        assert a.channel("ctx", "b").probes_ok >= 1 and b.metrics.probes_answered >= 1
        ghost = a.channel("ctx", "nobody")
        started = asyncio.get_running_loop().time()
        assert await a.check_health("ctx", "nobody") is False
        assert asyncio.get_running_loop().time() - started == pytest.approx(0.5)
        assert ghost.open and ghost.failures == 1
        assert await a.check_health("ctx", "nobody") is False
        assert ghost.closed == "unhealthy" and a.metrics.torn_down == {"unhealthy": 1}
        assert a.channel("ctx", "nobody") is not ghost  # the next use opens a fresh one

    run_virtual(main())


def test_flow_epoch_rotation_and_budget_exhaustion_tear_channels_down() -> None:
    async def main() -> None:
        inner = Shared(InMemoryTransport())
        ledger = FlowLedger(default_limit=3)
        a = TransportCoordinator(inner, budgets=ledger)
        b = TransportCoordinator(inner)
        a.attach("a", lambda s, f: None)
        b.attach("b", lambda s, f: None)
        await a.send("ctx", "b", b"x")
        old = a.channel("ctx", "b")
        ledger.rotate_epoch()
        await a.send("ctx", "b", b"y")
        new = a.channel("ctx", "b")
        assert old.closed == "epoch" and new.open and new.epoch == 1 and new is not old
        for _ in range(3):
            ledger.charge("ctx", "b", 1)  # the guard chain pays for sends; the coordinator reads it
        with pytest.raises(ChannelClosed, match="exhausted"):
            await a.send("ctx", "b", b"z")
        assert new.closed == "budget" and a.channels() == []
        with pytest.raises(ChannelClosed):  # permanent: never retried
            await a.send_with_retry("ctx", "b", b"z", RetryPolicy(max_attempts=5))
        assert a.metrics.retries == 0
        ledger.rotate_epoch()
        await a.send("ctx", "b", b"again")
        assert a.channel("ctx", "b").epoch == 2
        assert a.metrics.torn_down == {"epoch": 1, "budget": 1}

    run_virtual(main())


class Flaky(Transport):
    """Refuses the first `failures` sends (a transport failure), then delivers."""

    def __init__(self, inner: Transport, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.reliable = inner.reliable

    def attach(self, address: Address, on_frame: FrameHandler) -> Link:
        link = self.inner.attach(address, on_frame)
        outer = self

        class FlakyLink(Link):
            address = link.address  # type: ignore[assignment]
            closed = False  # type: ignore[assignment]

            async def send(self, to: Address, frame: bytes) -> None:
                if outer.failures > 0:
                    outer.failures -= 1
                    raise TransportError("connection reset")
                await link.send(to, frame)

            def close(self) -> None:
                link.close()

        return FlakyLink()


def test_send_with_retry_backs_off_on_virtual_time_and_gives_up_with_every_error() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        inner = InMemoryTransport()
        got: list[bytes] = []
        inner.attach("b", lambda s, f: got.append(f))
        a = TransportCoordinator(Flaky(inner, failures=2), max_failures=5)
        a.attach("a", lambda s, f: None)
        started = loop.time()
        await a.send_with_retry("ctx", "b", b"hello", RetryPolicy(max_attempts=4, base=1.0, max_delay=1.0))
        assert got == [b"hello"] and a.metrics.retries == 2 and a.metrics.send_failures == 2
        assert 0 <= loop.time() - started <= 2.0  # two backoffs of at most 1 s each (virtual)
        assert a.channel("ctx", "b").failures == 0  # the success reset the failure count
        b = TransportCoordinator(Flaky(InMemoryTransport(), failures=10), max_failures=2)
        b.attach("x", lambda s, f: None)
        with pytest.raises(RetriesExhausted) as exhausted:
            await b.send_with_retry("ctx", "y", b"lost", RetryPolicy(max_attempts=3, base=0.1))
        assert len(exhausted.value.errors) == 3
        assert b.metrics.torn_down == {"unhealthy": 1}  # two failures in a row tore the channel down

    run_virtual(main())


def test_idle_channels_are_cleaned_up() -> None:
    async def main() -> None:
        inner = Shared(InMemoryTransport())
        a = TransportCoordinator(inner, idle_after=10.0)
        a.attach("a", lambda s, f: None)
        inner.attach("b", lambda s, f: None)
        await a.send("c", "b", b"1")
        await asyncio.sleep(6)
        await a.send("d", "b", b"2")
        await asyncio.sleep(6)
        assert [(c.context, c.closed) for c in a.cleanup_idle()] == [("c", "idle")]
        assert [c.context for c in a.channels()] == ["d"]
        assert TransportCoordinator(inner, idle_after=None).cleanup_idle() == []

    run_virtual(main())


def test_malformed_probes_and_probes_to_plain_nodes_never_raise() -> None:
    async def main() -> None:
        inner = Shared(InMemoryTransport())
        a = TransportCoordinator(inner, probe_timeout=0.2)
        a.attach("a", lambda s, f: None)
        for junk in (b"\xc1", b"\xc1P", b"\xc1Pshort", b"\xc1Z12345678", b"\xc1Q" + b"\x00" * 8):
            a._on_frame("mallory", junk)
        assert a.metrics.garbage_probes == 4  # the unsolicited pong is simply ignored
        async with Node(inner, "plain") as node:  # a node without a coordinator
            assert await a.check_health("ctx", "plain") is False
            assert node.stats.garbage == 1
        with pytest.raises(TransportError, match="one device"):
            a.attach("again", lambda s, f: None)
        with pytest.raises(ValueError):
            TransportCoordinator(inner, max_failures=0)
        assert PROBE[0] == 0xC1

    run_virtual(main())


async def test_over_tcp_probes_and_frames_cross_the_authenticated_connection() -> None:
    """Two devices, each a `TcpTransport` (TLS 1.3, pinned keys) wrapped in a coordinator: once a
    session joins them, health probes and frames travel on the one shared connection (loopback)."""
    import socket

    from aura_choreo.transports.carrier import TcpTransport
    from aura_choreo.transports.net.handshake import SessionBinding
    from aura_choreo.transports.net.identity import Identity
    from aura_choreo.transports.peering import PeerDevice

    ids = {name: Identity.generate(name) for name in ("a", "b")}
    sockets = [socket.socket() for _ in ids]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    addresses = {name: f"tcp://127.0.0.1:{s.getsockname()[1]}" for name, s in zip(ids, sockets, strict=True)}
    for s in sockets:
        s.close()
    nets = {
        name: TcpTransport(
            ids[name],
            {o: PeerDevice(o, ids[o].public_bytes, addresses[o]) for o in ids if o != name},
            listen=addresses[name],
        )
        for name in ids
    }
    got: list[bytes] = []
    async with nets["a"], nets["b"]:
        a = TransportCoordinator(nets["a"], probe_timeout=5.0)
        b = TransportCoordinator(nets["b"], probe_timeout=5.0)
        a.attach(nets["a"].local_address, lambda s, f: None)
        b.attach(nets["b"].local_address, lambda s, f: got.append(f))
        binding = SessionBinding("probe-test", "s1", {"A": "a", "B": "b"})
        await asyncio.wait_for(
            asyncio.gather(nets["a"].open_session(binding), nets["b"].open_session(binding)), 20
        )
        assert await a.check_health("ctx", addresses["b"]) is True
        assert b.metrics.probes_answered == 1
        await a.send_with_retry("ctx", addresses["b"], b"not an envelope, delivered as is")
        for _ in range(200):
            if got:
                break
            await asyncio.sleep(0.01)
        assert got == [b"not an envelope, delivered as is"]
        assert [c.peer for c in a.channels()] == [addresses["b"]] and a.metrics.opened == 1


def test_a_flood_of_probes_gets_a_bounded_number_of_answers() -> None:
    from aura_choreo.orchestration.transport_coordinator import MAX_PENDING_ANSWERS

    async def main() -> None:
        inner = Shared(InMemoryTransport())
        a = TransportCoordinator(inner)
        a.attach("a", lambda s, f: None)
        answers: list[bytes] = []
        inner.attach("mallory", lambda s, f: answers.append(f))
        for n in range(MAX_PENDING_ANSWERS + 100):
            a._on_frame("mallory", PROBE + n.to_bytes(8, "big"))  # all at once, no chance to answer
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(answers) == MAX_PENDING_ANSWERS and a.metrics.garbage_probes == 100

    run_virtual(main())


def test_a_peers_circuit_breaker_fails_sends_fast_and_recovers_on_virtual_time() -> None:
    from aura_choreo.resilience.breaker import BreakerState, CircuitBreaker

    async def main() -> None:
        inner = InMemoryTransport()
        got: list[bytes] = []
        inner.attach("b", lambda s, f: got.append(f))
        flaky = Flaky(inner, failures=3)
        a = TransportCoordinator(
            flaky, max_failures=100, breakers=lambda peer: CircuitBreaker(3, recovery_timeout=10.0, name=peer)
        )
        a.attach("a", lambda s, f: None)
        for _ in range(3):
            with pytest.raises(TransportError, match="reset"):
                await a.send("ctx", "b", b"x")
        breaker = a.breaker("b")
        assert breaker is not None and breaker.state is BreakerState.OPEN
        with pytest.raises(ChannelClosed, match="open"):
            await a.send("ctx", "b", b"x")
        assert a.metrics.fail_fast == 1 and a.metrics.sends == 3  # the fourth never reached the link
        with pytest.raises(ChannelClosed):  # permanent for send_with_retry: no retries while open
            await a.send_with_retry("ctx", "b", b"x", RetryPolicy(max_attempts=5))
        assert a.metrics.retries == 0
        await asyncio.sleep(10)  # virtual: the recovery time passes
        assert breaker.state is BreakerState.HALF_OPEN
        await a.send("ctx", "b", b"probe")  # the link works again: the probe closes the circuit
        assert breaker.state is BreakerState.CLOSED and got == [b"probe"]
        assert a.breaker("c") is not breaker  # one breaker per peer

    run_virtual(main())


@pytest.mark.parametrize("seed", range(6))
def test_health_checks_running_beside_sessions_on_a_lossy_network_disturb_nothing(seed: int) -> None:
    async def main() -> tuple[list[int], TransportCoordinator]:
        inner = Shared(SimulatedTransport(LOSSY, seed=seed))
        a = TransportCoordinator(inner, context="ctx", probe_timeout=0.05, max_failures=2)
        b = TransportCoordinator(inner, context="ctx", probe_timeout=0.05, max_failures=2)
        async with (
            Node(a, "dev-a", retransmit_after=0.05) as na,
            Node(b, "dev-b", retransmit_after=0.05) as nb,
        ):
            stop = asyncio.Event()

            async def prober() -> None:
                while not stop.is_set():
                    await a.check_all()  # a lost probe may tear a channel down: the next send reopens it
                    await asyncio.sleep(0.01)

            task = asyncio.ensure_future(prober())
            try:
                results = [await ping_session(na, nb, n) for n in range(5)]
            finally:
                stop.set()
                await task
        return results, a

    results, a = run_virtual(main())
    assert results == [1, 2, 3, 4, 5]
    assert a.metrics.probes > 0 and a.metrics.opened >= 1
    assert a.metrics.opened == 1 + a.metrics.torn_down.get("unhealthy", 0)
