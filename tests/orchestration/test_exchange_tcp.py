"""Coordinators over `tcp://` (loopback, TLS 1.3, pinned keys): `exchange.Device` on a network transport
that serves one device registers each exchange's session with its peers (issue 16: the anti-entropy
bench measures the TCP transport too)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from aura_choreo.orchestration.antientropy import AntiEntropy
from aura_choreo.orchestration.coordinator import CrdtCoordinator
from aura_choreo.orchestration.crdt import ORSet
from aura_choreo.orchestration.entries import CrdtEntries
from aura_choreo.orchestration.exchange import Device
from aura_choreo.transports.carrier import TcpTransport
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.peering import PeerDevice


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@asynccontextmanager
async def tcp_devices(*names: str) -> AsyncIterator[list[Device]]:
    """One `TcpTransport` and one started `Device` per name, all on loopback, each pinning the others."""
    identities = {name: Identity.generate(name) for name in names}
    addresses = {
        name: f"tcp://127.0.0.1:{port}" for name, port in zip(names, free_ports(len(names)), strict=True)
    }
    async with AsyncExitStack() as stack:
        devices = []
        for name in names:
            peers = {
                other: PeerDevice(other, identities[other].public_bytes, addresses[other])
                for other in names
                if other != name
            }
            net = await stack.enter_async_context(
                TcpTransport(identities[name], peers, listen=addresses[name])
            )
            devices.append(await stack.enter_async_context(Device(name, net)))
        yield devices


async def test_crdt_sync_and_anti_entropy_run_over_tcp() -> None:
    async with tcp_devices("a", "b", "c") as (a, b, c):
        assert a.address.startswith("tcp://127.0.0.1:")
        x = CrdtCoordinator(a, "tags", ORSet(), mode="delta")
        y = CrdtCoordinator(b, "tags", ORSet(), mode="delta")
        for i in range(20):
            x.apply(lambda s, i=i: s.add("a", i))
        await asyncio.wait_for(x.sync_with(y), 20)
        y.apply(lambda s: s.add("b", "from b"))
        await asyncio.wait_for(y.sync_with(x), 20)
        assert x.value == y.value and len(x.value.value) == 21
        # Anti-entropy among three devices: every pair, twice, over the shared connections.
        left = ORSet()
        for i in range(50):
            left, _ = left.add("a", f"e{i}")
        ends = [AntiEntropy(d, CrdtEntries("s", s)) for d, s in ((a, left), (b, ORSet()), (c, ORSet()))]
        await asyncio.wait_for(ends[0].reconcile(ends[1]), 20)
        await asyncio.wait_for(ends[1].reconcile(ends[2]), 20)
        assert ends[2].entries.value == left
        # Sessions are forgotten by the transports when their exchange ends.
        for device in (a, b, c):
            assert device.transport._bindings == {}  # type: ignore[attr-defined]
