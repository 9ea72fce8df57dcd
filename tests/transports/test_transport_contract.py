"""One contract every transport passes: in-memory, simulated, tcp://, ws://, quic:// and nats://
(two devices, one process).

A new carrier is done when it passes this file: sessions complete through the session layer with every
message delivered once and in order (the simulated network drops, duplicates and reorders frames on
the way), many sessions share one connection, oversized frames and sends on a closed link are refused
with `TransportError`, an outage mid-session (a dropped connection; for nats:// the server restarted;
for the simulated network a partition) loses and duplicates nothing, garbage frames never reach the
protocol, and (network carriers) a device holding another key than the policy pins is refused before
anything reaches the session layer.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aura_choreo.errors import HandshakeRefused, PeerTimeout, TransportError
from aura_choreo.protocol import Protocol, load
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.runner import run_role
from aura_choreo.runtime.trace import Trace
from aura_choreo.testing import check_trace
from aura_choreo.transports.base import Transport
from aura_choreo.transports.carrier import TcpTransport
from aura_choreo.transports.faults import Partition
from aura_choreo.transports.inmemory import InMemoryTransport
from aura_choreo.transports.nats_broker import NatsTransport
from aura_choreo.transports.nats_server import NatsServer
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.net.signed import subject_for
from aura_choreo.transports.network import LinkModel, NetworkModel, UniformLatency
from aura_choreo.transports.peering import PeerDevice, carrier_for
from aura_choreo.transports.simulated import SimulatedTransport
from conftest import free_port, require_nats, require_quic

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"
KINDS = ["inmemory", "simulated", "tcp", "ws", "quic", "nats"]
NETWORK = ["tcp", "ws", "quic", "nats"]
ALICE, BOB, MALLORY = Identity.generate("alice"), Identity.generate("bob"), Identity.generate("mallory")
FAULTY = NetworkModel(LinkModel(latency=UniformLatency(0.2, 3.0), drop=0.1, duplicate=0.1, reorder=True))
ROLES = {"Coordinator": "alice", "Participant": "bob"}


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
async def pair(kind: str, *, outage: bool = False) -> AsyncIterator[Pair]:
    if kind == "inmemory":
        shared = InMemoryTransport()
        yield Pair(shared, shared, "alice", "bob")
        return
    if kind == "simulated":  # lossy, duplicating, reordering; `outage`: alice cut off for 150 ms early on
        schedule = (Partition(("alice",), 20.0, 170.0),) if outage else ()
        simulated = SimulatedTransport(FAULTY, schedule, seed=7, record_frames=outage)
        yield Pair(simulated, simulated, "alice", "bob")
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
    if kind == "quic":
        require_quic()
    a_address, b_address = f"{kind}://127.0.0.1:{free_port()}", f"{kind}://127.0.0.1:{free_port()}"
    a = TcpTransport(ALICE, {"bob": PeerDevice("bob", BOB.public_bytes, b_address)}, listen=a_address)
    b = TcpTransport(BOB, {"alice": PeerDevice("alice", ALICE.public_bytes, a_address)}, listen=b_address)
    async with a, b:
        yield Pair(a, b, a_address, b_address)


async def run_sessions(
    protocol: Protocol, p: Pair, count: int, *, drop_midway: bool = False, garbage: int = 0
) -> tuple[Trace, Node]:
    """Run `count` two-phase commits; returns the trace and the receiving node (for its counters)."""
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
        if garbage:
            await send_garbage(p, garbage, sessions[0].id)
        async with asyncio.TaskGroup() as group:
            for i, s in enumerate(sessions):
                group.create_task(run_role(s.endpoint("Coordinator", node_a), seed=i))
                group.create_task(run_role(s.endpoint("Participant", node_b), seed=i + 1000))
            if drop_midway and p.server is not None:  # the broker goes away mid-session and comes back
                await asyncio.sleep(0.01)
                await asyncio.to_thread(p.server.restart, 0.2)
    return trace, node_b


def garbage_frames(count: int) -> list[bytes]:
    """Random bytes, empty frames, and msgpack that is almost an envelope (wrong types, too short)."""
    rng = random.Random(13)
    almost = [b"\x90", b"\x93\x01\x00\xa2s0", b"\x99\x01\x00\xa2s0\xa1p" + b"\xc0" * 5, b"\xc1"]
    return [rng.choice([b"", rng.randbytes(rng.randint(1, 300)), *almost]) for _ in range(count)]


async def send_garbage(p: Pair, count: int, session: str) -> None:
    """Garbage for bob, from where each transport lets it come: another attached address in process,
    an authenticated peer's connection (tcp/ws/quic), any client of the broker (nats)."""
    frames = garbage_frames(count)
    if isinstance(p.a, InMemoryTransport | SimulatedTransport):
        mallory = p.a.attach("mallory", lambda _a, _f: None)
        for frame in frames:
            await mallory.send(p.address_b, frame)
        mallory.close()
    elif isinstance(p.a, TcpTransport):
        for frame in frames:
            await p.a._post(p.address_b, frame)
    else:
        assert p.server is not None
        nats = require_nats()
        client: Any = await nats.connect(p.server.url)
        for frame in frames:
            await client.publish(subject_for("h", session, "Participant"), frame)
        await client.flush()
        await client.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_many_sessions_share_the_transport_and_every_message_arrives_once_in_order(kind: str) -> None:
    protocol = load(TPC)
    async with pair(kind) as p:
        trace, _ = await run_sessions(protocol, p, 20)
    report = check_trace(protocol, trace)
    assert report.ok, report.issues
    assert len(report.sessions) == 20
    if isinstance(p.a, TcpTransport):
        assert p.a.connections_made == 1  # one connection for all twenty sessions


@pytest.mark.parametrize("kind", ["simulated", *NETWORK])
async def test_an_outage_mid_session_loses_and_duplicates_nothing(kind: str) -> None:
    protocol = load(TPC)
    async with pair(kind, outage=True) as p:
        trace, _ = await run_sessions(protocol, p, 10, drop_midway=True)
        if isinstance(p.a, SimulatedTransport):
            assert any(f.reason == "partitioned" for f in p.a.frames)  # the outage happened
        else:
            assert isinstance(p.a, TcpTransport | NatsTransport)
            assert isinstance(p.b, TcpTransport | NatsTransport)
            assert p.a.connections_made + p.b.connections_made >= 4  # the connection came back
    report = check_trace(protocol, trace)
    assert report.ok, report.issues
    assert len(report.sessions) == 10


@pytest.mark.parametrize("kind", KINDS)
async def test_garbage_frames_never_reach_the_protocol(kind: str) -> None:
    protocol = load(TPC)
    async with pair(kind) as p:
        trace, node_b = await run_sessions(protocol, p, 3, garbage=200)
        dropped = node_b.stats.garbage + (p.b.rejected if isinstance(p.b, NatsTransport) else 0)
    report = check_trace(protocol, trace)
    assert report.ok, report.issues
    assert len(report.sessions) == 3
    assert dropped > 0  # the garbage arrived, and was counted, not run


@pytest.mark.parametrize("kind", NETWORK)
async def test_a_device_holding_another_key_is_refused_before_the_session_layer(kind: str) -> None:
    """mallory holds her own key but claims to be alice; bob hears nothing from her."""
    impostor = Identity("alice", MALLORY.private_key)
    async with pair(kind) as p:
        assert isinstance(p.b, TcpTransport | NatsTransport)
        heard: list[bytes] = []
        p.b.attach(p.address_b, lambda _a, frame: heard.append(frame))
        binding = SessionBinding("h", "s1", ROLES)
        fake: TcpTransport | NatsTransport
        if isinstance(p.b, TcpTransport):
            p.b.register_session(binding)
        if isinstance(p.b, NatsTransport):
            assert p.server is not None
            await p.b.open_session(binding, peers=set(), timeout=10)
            fake = NatsTransport(impostor, {"bob": PeerDevice("bob", BOB.public_bytes)}, server=p.server.url)
        else:
            fake = TcpTransport(impostor, {"bob": PeerDevice("bob", BOB.public_bytes, p.address_b)})
        async with fake:
            fake.attach(fake.local_address, lambda _a, _f: None)
            with pytest.raises((HandshakeRefused, PeerTimeout)):  # nats: the broker cannot answer for bob
                await fake.open_session(binding, timeout=3)
        assert heard == []
        assert p.b.refusals  # with the reason, on bob's side


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


@pytest.mark.parametrize(
    ("scheme", "module", "extra"), [("ws", "websockets", "websocket"), ("quic", "aioquic", "quic")]
)
def test_a_missing_extra_is_one_line_naming_the_install(
    scheme: str, module: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")] or [module]:
        monkeypatch.setitem(sys.modules, name, None)  # what `import` sees without the extra
    monkeypatch.delitem(sys.modules, f"aura_choreo.transports.{scheme}", raising=False)
    with pytest.raises(TransportError) as caught:
        carrier_for(f"{scheme}://127.0.0.1:1")
    message = str(caught.value)
    assert f"pip install 'aura-choreo[{extra}]'" in message and "\n" not in message


async def test_dialing_a_carrier_without_its_extra_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "aioquic" or m.startswith("aioquic.")] or ["aioquic"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "aura_choreo.transports.quic", raising=False)
    peers = {"bob": PeerDevice("bob", BOB.public_bytes, "quic://127.0.0.1:9")}
    async with TcpTransport(ALICE, peers) as alice:
        with pytest.raises(TransportError, match=r"pip install 'aura-choreo\[quic\]'"):
            await alice.open_session(SessionBinding("h", "s1", ROLES), timeout=3)
