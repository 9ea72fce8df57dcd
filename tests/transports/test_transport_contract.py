"""One contract every transport passes: in-memory, tcp://, ws:// and nats:// (two devices, one process).

A new carrier is done when it passes this file: sessions complete through the session layer with every
message delivered once and in order, many sessions share one connection, oversized frames and sends
on a closed link are refused with `TransportError`, and (network carriers) a connection dropped
mid-session (for nats://, the server restarted) is re-established with nothing lost or duplicated.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from aura_choreo.errors import TransportError
from aura_choreo.protocol import Protocol, load
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.runner import run_role
from aura_choreo.runtime.trace import Trace
from aura_choreo.testing import check_trace
from aura_choreo.transports.base import Transport
from aura_choreo.transports.carrier import TcpTransport
from aura_choreo.transports.inmemory import InMemoryTransport
from aura_choreo.transports.nats_broker import NatsTransport
from aura_choreo.transports.nats_server import NatsServer
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.peering import PeerDevice
from conftest import require_nats

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"
KINDS = ["inmemory", "tcp", "ws", "nats"]
ALICE, BOB = Identity.generate("alice"), Identity.generate("bob")
ROLES = {"Coordinator": "alice", "Participant": "bob"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Pair:
    """Two devices' transports (one object for in-memory) and their addresses."""

    a: Transport
    b: Transport
    address_a: str
    address_b: str
    server: NatsServer | None = None

    async def open(self, session: str, protocol_hash: str = "h") -> None:
        if isinstance(self.a, TcpTransport | NatsTransport) and isinstance(
            self.b, TcpTransport | NatsTransport
        ):
            binding = SessionBinding(protocol_hash, session, ROLES)
            await asyncio.gather(
                self.a.open_session(binding, timeout=20), self.b.open_session(binding, timeout=20)
            )


@asynccontextmanager
async def pair(kind: str) -> AsyncIterator[Pair]:
    if kind == "inmemory":
        shared = InMemoryTransport()
        yield Pair(shared, shared, "alice", "bob")
        return
    if kind == "nats":
        require_nats()
        with NatsServer() as server:
            a_nats = NatsTransport(
                ALICE, {"bob": PeerDevice("bob", BOB.public_bytes, server.url)}, server=server.url
            )
            b_nats = NatsTransport(
                BOB, {"alice": PeerDevice("alice", ALICE.public_bytes, server.url)}, server=server.url
            )
            async with a_nats, b_nats:
                yield Pair(a_nats, b_nats, a_nats.local_address, b_nats.local_address, server)
        return
    a_address, b_address = f"{kind}://127.0.0.1:{free_port()}", f"{kind}://127.0.0.1:{free_port()}"
    a = TcpTransport(ALICE, {"bob": PeerDevice("bob", BOB.public_bytes, b_address)}, listen=a_address)
    b = TcpTransport(BOB, {"alice": PeerDevice("alice", ALICE.public_bytes, a_address)}, listen=b_address)
    async with a, b:
        yield Pair(a, b, a_address, b_address)


async def run_sessions(protocol: Protocol, p: Pair, count: int, *, drop_midway: bool = False) -> Trace:
    trace = Trace()
    devices = {"Coordinator": p.address_a, "Participant": p.address_b}
    async with AsyncExitStack() as stack:
        node_a = await stack.enter_async_context(Node(p.a, p.address_a, retransmit_after=0.05))
        node_b = await stack.enter_async_context(Node(p.b, p.address_b, retransmit_after=0.05))
        sessions = [protocol.session(session_id=f"s{i}", devices=devices, trace=trace) for i in range(count)]
        for s in sessions:
            await p.open(s.id)
        if drop_midway and isinstance(p.a, TcpTransport | NatsTransport):
            p.a.drop_after_frames = max(count // 2, 1)
        async with asyncio.TaskGroup() as group:
            for i, s in enumerate(sessions):
                group.create_task(run_role(s.endpoint("Coordinator", node_a), seed=i))
                group.create_task(run_role(s.endpoint("Participant", node_b), seed=i + 1000))
            if drop_midway and p.server is not None:  # the broker goes away mid-session and comes back
                await asyncio.sleep(0.01)
                await asyncio.to_thread(p.server.restart, 0.2)
    return trace


@pytest.mark.parametrize("kind", KINDS)
async def test_many_sessions_share_the_transport_and_every_message_arrives_once_in_order(kind: str) -> None:
    protocol = load(TPC)
    async with pair(kind) as p:
        trace = await run_sessions(protocol, p, 20)
    report = check_trace(protocol, trace)
    assert report.ok, report.issues
    assert len(report.sessions) == 20
    if isinstance(p.a, TcpTransport):
        assert p.a.connections_made == 1  # one connection for all twenty sessions


@pytest.mark.parametrize("kind", ["tcp", "ws", "nats"])
async def test_a_connection_dropped_mid_session_loses_and_duplicates_nothing(kind: str) -> None:
    protocol = load(TPC)
    async with pair(kind) as p:
        trace = await run_sessions(protocol, p, 10, drop_midway=True)
        assert isinstance(p.a, TcpTransport | NatsTransport) and isinstance(p.b, TcpTransport | NatsTransport)
        assert p.a.connections_made + p.b.connections_made >= 4  # the connection came back
    report = check_trace(protocol, trace)
    assert report.ok, report.issues


@pytest.mark.parametrize("kind", KINDS)
async def test_oversized_frames_and_closed_links_are_refused(kind: str) -> None:
    async with pair(kind) as p:
        link = p.a.attach(p.address_a, lambda _a, _f: None)
        with pytest.raises(TransportError, match="limit"):
            await link.send(p.address_b, b"x" * (p.a.max_frame + 1))
        link.close()
        link.close()  # idempotent
        assert link.closed
        with pytest.raises(TransportError, match="closed"):
            await link.send(p.address_b, b"x")
