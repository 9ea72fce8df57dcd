"""A long-lived node holds nothing per finished session, and frames for unknown sessions are bounded
(issue #11 item 15). Measured by the structures the node retains, not by time or memory totals."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from aura_choreo.protocol import choreography
from aura_choreo.runtime import node as node_module
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.session import Session
from aura_choreo.runtime.wire import KIND_DATA, WIRE_VERSION, Envelope, encode_envelope, encode_payload
from aura_choreo.testing.virtual_time import VirtualTimeEventLoop
from aura_choreo.transports.base import Transport
from aura_choreo.transports.inmemory import InMemoryTransport
from aura_choreo.transports.network import LinkModel, NetworkModel, UniformLatency
from aura_choreo.transports.simulated import SimulatedTransport

PING = choreography("choreography P { roles: A, B; A -> B: Ping(n: i64); B -> A: Pong(n: i64); }")


async def _sessions(transport: Transport, count: int, **node_options: int) -> tuple[Node, Node]:
    async with Node(transport, "a", **node_options) as a, Node(transport, "b", **node_options) as b:
        for _ in range(count):
            session = PING.session(devices={"A": "a", "B": "b"})

            async def run_a(session: Session = session) -> None:
                async with session.endpoint("A", a) as ep:
                    await ep.send("B", ep.message("Ping", n=1))
                    await ep.recv("B")

            async def run_b(session: Session = session) -> None:
                async with session.endpoint("B", b) as ep:
                    ping = await ep.recv("A")
                    await ep.send("A", ep.message("Pong", n=ping.n))

            await asyncio.gather(run_a(), run_b())
    return a, b


async def test_finished_sessions_are_forgotten_in_memory() -> None:
    a, b = await _sessions(InMemoryTransport(), 300, max_finished=50)
    for node in (a, b):
        assert node.retained() == {
            "inboxes": 0,
            "finished": 50,
            "stray_frames": 0,
            "receiving": 0,
            "unacked": 0,
        }


def test_finished_sessions_are_forgotten_over_an_unreliable_network() -> None:
    network = NetworkModel(LinkModel(latency=UniformLatency(1.0, 20.0), drop=0.2, duplicate=0.2))
    loop = VirtualTimeEventLoop()
    try:
        a, b = loop.run_until_complete(_sessions(SimulatedTransport(network, seed=3), 100))
    finally:
        loop.close()
    for node in (a, b):
        retained = node.retained()
        assert retained["inboxes"] == 0 and retained["receiving"] == 0 and retained["stray_frames"] == 0
        assert retained["finished"] == 100  # one endpoint per session: a key each, nothing else


def _stray(index: int, seq: int = 1) -> bytes:
    payload, _ = encode_payload({"n": index})
    return encode_envelope(
        Envelope(WIRE_VERSION, KIND_DATA, f"nobody-{index}", "P", "A", "B", "Ping", seq, msgspec.Raw(payload))
    )


@pytest.mark.parametrize("transport", [InMemoryTransport, SimulatedTransport])
def test_frames_for_sessions_nobody_runs_are_bounded_in_count_and_counted(transport: type[Transport]) -> None:
    node = Node(transport(), "b", max_stray=100)
    node._link = None
    for index in range(20_000):
        node._on_frame("mallory", _stray(index))
        node._on_frame("mallory", _stray(index, seq=7))  # out of order: never kept for a stranger
    retained = node.retained()
    assert retained["stray_frames"] <= 100 and retained["inboxes"] == 0
    assert retained["receiving"] <= 100
    assert node.stats.stray_dropped == 40_000 - retained["stray_frames"]


def test_frames_for_sessions_nobody_runs_are_dropped_when_old(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr(node_module, "_now", lambda: now[0])
    node = Node(InMemoryTransport(), "b", max_stray=1000, stray_ttl=10.0)
    for index in range(5):
        node._on_frame("mallory", _stray(index))
    now[0] = 11.0
    node._on_frame("mallory", _stray(99))  # the old ones go as a new one arrives
    assert node.retained()["stray_frames"] == 1 and node.stats.stray_dropped == 5


async def test_frames_that_arrive_before_their_endpoint_joins_are_still_delivered() -> None:
    node = Node(InMemoryTransport(), "b", max_stray=10)
    node._on_frame("a", _stray(1))
    inbox = node.inbox("nobody-1", "B")
    assert [e.label for _, e in inbox.queues["A"]] == ["Ping"]
    assert node.retained()["stray_frames"] == 0


def test_a_channel_that_began_before_its_endpoint_joined_delivers_in_order_after_it_joins() -> None:
    """Over an unreliable transport the first frames wait as strays; once the endpoint has joined,
    the channel's later frames reach its inbox behind them (the channel finds the inbox then)."""
    node = Node(SimulatedTransport(), "b", max_stray=10)
    node._on_frame("a", _stray(7, seq=1))
    node._on_frame("a", _stray(7, seq=2))
    inbox = node.inbox("nobody-7", "B")
    node._on_frame("a", _stray(7, seq=3))
    node._on_frame("a", _stray(7, seq=3))  # a duplicate
    assert [e.seq for _, e in inbox.queues["A"]] == [1, 2, 3]
    assert node.stats.duplicates == 1
    node.release("nobody-7", "B")
    node._on_frame("a", _stray(7, seq=4))  # after it left: counted, not delivered
    assert node.stats.after_end == 1 and node.retained()["receiving"] == 0
