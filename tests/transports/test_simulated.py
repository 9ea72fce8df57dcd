"""The simulated transport: frames on virtual time, deterministic, faults applied."""

from __future__ import annotations

import asyncio

import pytest

from aura_choreo.errors import TransportError
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.faults import Crash, Partition
from aura_choreo.transports.network import FixedLatency, LinkModel, NetworkModel, UniformLatency
from aura_choreo.transports.simulated import SimulatedTransport

Received = list[tuple[float, str, bytes]]


def collector(into: Received) -> object:
    def on_frame(sender: str, frame: bytes) -> None:
        into.append((asyncio.get_running_loop().time(), sender, frame))

    return on_frame


async def exchange(transport: SimulatedTransport, frames: int, gap: float = 0.001) -> Received:
    got: Received = []
    a = transport.attach("A", lambda s, f: None)
    transport.attach("B", collector(got))  # type: ignore[arg-type]
    for i in range(frames):
        await a.send("B", i.to_bytes(2, "big"))
        await asyncio.sleep(gap)
    await asyncio.sleep(10)
    return got


def test_frames_arrive_after_the_link_latency_in_virtual_time() -> None:
    transport = SimulatedTransport(NetworkModel(LinkModel(latency=FixedLatency(25.0))))
    got = run_virtual(exchange(transport, 1))
    assert got == [(0.025, "A", b"\x00\x00")]


def test_same_seed_same_deliveries_byte_for_byte() -> None:
    model = NetworkModel(LinkModel(latency=UniformLatency(1, 30), drop=0.2, duplicate=0.2, reorder=True))
    runs = [run_virtual(exchange(SimulatedTransport(model, seed=s), 100)) for s in (5, 5, 6)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_equal_arrival_times_keep_send_order() -> None:
    transport = SimulatedTransport(NetworkModel(LinkModel(latency=FixedLatency(5.0))))
    got = run_virtual(exchange(transport, 50, gap=0.0))
    assert [f for _, _, f in got] == [i.to_bytes(2, "big") for i in range(50)]


def test_losses_and_duplicates_are_counted() -> None:
    transport = SimulatedTransport(NetworkModel(LinkModel(drop=0.3, duplicate=0.3)), seed=1)
    got = run_virtual(exchange(transport, 400))
    stats = transport.stats
    assert stats.sent == 400
    assert stats.lost > 50 and stats.duplicated > 50
    assert stats.delivered == len(got) == 400 - stats.lost + stats.duplicated


def test_frames_in_flight_when_a_partition_starts_are_lost() -> None:
    transport = SimulatedTransport(
        NetworkModel(LinkModel(latency=FixedLatency(10.0))),
        (Partition(("B",), 5.0, 100.0),),
        record_frames=True,
    )
    got = run_virtual(exchange(transport, 1))
    assert got == []
    assert [(e.kind, e.reason) for e in transport.frames] == [("sent", None), ("lost", "partitioned")]


def test_frames_to_a_crashed_node_are_lost_until_it_restarts() -> None:
    schedule = (Crash("B", 0.0, restart_ms=50.0),)
    transport = SimulatedTransport(NetworkModel(LinkModel(latency=FixedLatency(1.0))), schedule)
    got = run_virtual(exchange(transport, 100, gap=0.001))
    # frames sent while B is down (0..49 ms) are lost, whether they would arrive before or after 50 ms
    assert [int.from_bytes(f, "big") for _, _, f in got] == list(range(50, 100))


def test_frames_for_an_address_not_attached_yet_wait_for_it() -> None:
    async def main() -> Received:
        transport = SimulatedTransport()
        a = transport.attach("A", lambda s, f: None)
        await a.send("B", b"early")
        await asyncio.sleep(1)
        got: Received = []
        transport.attach("B", collector(got))  # type: ignore[arg-type]
        await asyncio.sleep(1)
        return got

    assert [f for _, _, f in run_virtual(main())] == [b"early"]


def test_link_errors_are_transport_errors() -> None:
    async def main() -> None:
        transport = SimulatedTransport(max_frame=8)
        a = transport.attach("A", lambda s, f: None)
        with pytest.raises(TransportError, match="already attached"):
            transport.attach("A", lambda s, f: None)
        with pytest.raises(TransportError, match="exceeds the 8-byte limit"):
            await a.send("B", b"123456789")
        a.close()
        a.close()
        assert a.closed
        with pytest.raises(TransportError, match="closed"):
            await a.send("B", b"x")

    run_virtual(main())


def test_a_closed_link_receives_nothing() -> None:
    async def main() -> Received:
        transport = SimulatedTransport()
        got: Received = []
        a = transport.attach("A", lambda s, f: None)
        b = transport.attach("B", collector(got))  # type: ignore[arg-type]
        await a.send("B", b"x")
        b.close()
        await asyncio.sleep(1)
        return got

    assert run_virtual(main()) == []


def test_frames_are_delivered_exactly_even_far_into_virtual_time() -> None:
    # float clocks lose precision far from zero; delivery must not depend on exact float equality
    model = NetworkModel(LinkModel(latency=UniformLatency(0.001, 3.0), duplicate=0.2))

    async def main() -> Received:
        await asyncio.sleep(10**7)
        return await exchange(SimulatedTransport(model, seed=3), 300, gap=0.0007)

    got = run_virtual(main(), start=123_456_789.123)
    sent = {i.to_bytes(2, "big") for i in range(300)}
    assert {f for _, _, f in got} == sent
    assert len(got) > 300
