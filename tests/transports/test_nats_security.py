"""nats://: the broker relays but cannot forge, redirect or replay; a lost server is survived or reported.

Messages are injected on the real server with a plain nats-py client, as a compromised broker (or any
client of it) could.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from aura_choreo.errors import PeerTimeout, ProtocolMismatch, TransportError
from aura_choreo.protocol import load
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.runner import run_role
from aura_choreo.runtime.trace import Trace
from aura_choreo.testing import check_trace
from aura_choreo.transports.nats_broker import NatsTransport
from aura_choreo.transports.nats_server import NatsServer
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.net.signed import SignedFrame, signed_bytes, subject_for
from aura_choreo.transports.peering import PeerDevice
from conftest import require_nats

nats = require_nats()

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"
ALICE, BOB, MALLORY = Identity.generate("alice"), Identity.generate("bob"), Identity.generate("mallory")
ROLES = {"Coordinator": "alice", "Participant": "bob"}
BINDING = SessionBinding("h", "s1", ROLES)
SUBJECT = subject_for("h", "s1", "Participant")


def envelope(sender: str = "Coordinator", receiver: str = "Participant", session: str = "s1") -> bytes:
    """A frame whose head reads like the session layer's envelope (what the transport checks)."""
    return msgspec.msgpack.encode([1, 0, session, "p", sender, receiver, "Prepare", 1, None])


def signed(identity: Identity, frame: bytes, subject: str = SUBJECT, counter: int | None = None) -> bytes:
    counter = counter if counter is not None else time.time_ns()
    signature = identity.sign(signed_bytes(subject, identity.device, counter, frame))
    return msgspec.msgpack.encode(SignedFrame(1, identity.device, counter, frame, signature))


async def receiving_bob(server: NatsServer) -> tuple[NatsTransport, list[bytes]]:
    bob = NatsTransport(
        BOB, {"alice": PeerDevice("alice", ALICE.public_bytes, server.url)}, server=server.url
    )
    got: list[bytes] = []
    bob.attach(bob.local_address, lambda _a, f: got.append(f))
    await bob.open_session(BINDING, peers=set(), timeout=10)  # alice is only ever forged here
    return bob, got


async def publish(server: NatsServer, *messages: tuple[str, bytes]) -> None:
    client: Any = await nats.connect(server.url)
    for subject, data in messages:
        await client.publish(subject, data)
    await client.flush()
    await client.close()


async def settle(transport: NatsTransport, got: list[bytes], expected: int) -> None:
    """Wait (bounded) until `expected` messages were accepted or rejected in total."""
    for _ in range(200):
        if len(got) + transport.rejected >= expected:
            return
        await asyncio.sleep(0.01)


async def test_a_message_forged_on_the_broker_is_rejected(nats_server: NatsServer) -> None:
    bob, got = await receiving_bob(nats_server)
    async with bob:
        genuine = envelope()
        forged = envelope()
        await publish(
            nats_server,
            (SUBJECT, signed(MALLORY, forged)),  # a key the policy does not pin for anyone
            (SUBJECT, msgspec.msgpack.encode(SignedFrame(1, "alice", 2 * 10**18, forged, b"x" * 64))),
            (SUBJECT, forged),  # unsigned
            (SUBJECT, b"\xff garbage"),
            (SUBJECT, signed(ALICE, genuine)),
        )
        await settle(bob, got, 5)
    assert got == [genuine]  # only alice's genuinely signed frame reaches the session layer
    assert bob.rejected == 4
    assert any("no public key" in r for r in bob.refusals)
    assert any("bad signature" in r for r in bob.refusals)
    assert any("not a signed frame" in r for r in bob.refusals)


async def test_a_replayed_or_redirected_message_is_rejected(nats_server: NatsServer) -> None:
    bob, got = await receiving_bob(nats_server)
    async with bob:
        frame = envelope()
        original = signed(ALICE, frame)
        other_session = subject_for("h", "s2", "Participant")
        await publish(nats_server, (SUBJECT, original), (SUBJECT, original))  # the broker replays it
        # Signed for another session's subject, delivered on this one: the signature does not cover it.
        await publish(nats_server, (SUBJECT, signed(ALICE, envelope(session="s2"), subject=other_session)))
        # Alice's valid signature, but claiming a role alice does not play here.
        await publish(nats_server, (SUBJECT, signed(ALICE, envelope(sender="Participant"))))
        await settle(bob, got, 4)
    assert got == [frame]
    assert bob.rejected == 3
    assert any("replayed" in r for r in bob.refusals)


async def test_a_frame_recorded_in_an_earlier_run_is_rejected(nats_server: NatsServer) -> None:
    """A fresh process has no last counter: a frame of an earlier run of the same session id, replayed
    into it, is refused by its age."""
    old = time.time_ns() - int(60 * 1e9)  # 60 s ago; the window is 30 s
    bob, got = await receiving_bob(nats_server)
    async with bob:
        await publish(nats_server, (SUBJECT, signed(ALICE, envelope(), counter=old)))
        await settle(bob, got, 1)
    assert got == [] and bob.rejected == 1


async def test_an_unreachable_server_is_a_peer_timeout_not_a_hang() -> None:
    with NatsServer() as server:
        url = server.url
    alice = NatsTransport(ALICE, {"bob": PeerDevice("bob", BOB.public_bytes, url)}, server=url)
    async with alice:
        with pytest.raises(PeerTimeout, match="NATS server"):
            await asyncio.wait_for(alice.open_session(BINDING, timeout=1.0), 10)


async def test_sessions_survive_a_server_restart_or_report_peer_timeout(nats_server: NatsServer) -> None:
    protocol = load(TPC)
    url = nats_server.url
    a = NatsTransport(ALICE, {"bob": PeerDevice("bob", BOB.public_bytes, url)}, server=url)
    b = NatsTransport(BOB, {"alice": PeerDevice("alice", ALICE.public_bytes, url)}, server=url)
    trace = Trace()
    devices = {"Coordinator": a.local_address, "Participant": b.local_address}
    async with a, b, Node(a, a.local_address, retransmit_after=0.05) as na, Node(b, b.local_address) as nb:
        sessions = [protocol.session(session_id=f"r{i}", devices=devices, trace=trace) for i in range(6)]
        for s in sessions:
            binding = SessionBinding("h", s.id, ROLES)
            await asyncio.gather(a.open_session(binding, timeout=10), b.open_session(binding, timeout=10))

        async def both(i: int, s: Any) -> object:
            return await asyncio.gather(
                run_role(s.endpoint("Coordinator", na), seed=i),
                run_role(s.endpoint("Participant", nb), seed=i),
            )

        # The server goes down as the roles start (so every session is mid-run) and comes back later.
        await asyncio.to_thread(nats_server.stop)
        runs = [asyncio.create_task(both(i, s)) for i, s in enumerate(sessions)]
        await asyncio.sleep(0.3)
        await asyncio.to_thread(nats_server.start)
        outcomes = await asyncio.wait_for(asyncio.gather(*runs, return_exceptions=True), 60)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(f, PeerTimeout) for f in failures), failures
    assert a.connections_made >= 2 and b.connections_made >= 2  # both came back through the restart
    report = check_trace(protocol, trace)
    assert report.ok or failures, report.issues


async def test_a_missing_extra_is_one_line_naming_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nats", None)  # what `import nats` sees without the extra
    transport = NatsTransport(ALICE, {}, server="nats://127.0.0.1:1")
    with pytest.raises(TransportError) as caught:
        async with transport:
            pass
    message = str(caught.value)
    assert "pip install 'aura-choreo[nats]'" in message and "\n" not in message


async def test_a_peer_on_another_protocol_is_a_protocol_mismatch_naming_both_hashes(
    nats_server: NatsServer,
) -> None:
    url = nats_server.url
    a = NatsTransport(ALICE, {"bob": PeerDevice("bob", BOB.public_bytes, url)}, server=url)
    b = NatsTransport(BOB, {"alice": PeerDevice("alice", ALICE.public_bytes, url)}, server=url)
    async with a, b:
        outcomes = await asyncio.wait_for(
            asyncio.gather(
                a.open_session(SessionBinding("hash-one", "s1", ROLES), timeout=10),
                b.open_session(SessionBinding("hash-two", "s1", ROLES), timeout=10),
                return_exceptions=True,
            ),
            20,
        )
    for outcome in outcomes:
        assert isinstance(outcome, ProtocolMismatch), outcome
        assert "hash-one" in str(outcome) and "hash-two" in str(outcome)


async def test_open_session_waits_for_a_late_peer_and_names_one_that_never_comes(
    nats_server: NatsServer,
) -> None:
    url = nats_server.url
    a = NatsTransport(ALICE, {"bob": PeerDevice("bob", BOB.public_bytes, url)}, server=url)
    b = NatsTransport(BOB, {"alice": PeerDevice("alice", ALICE.public_bytes, url)}, server=url)
    async with a, b:
        with pytest.raises(PeerTimeout, match="bob did not appear"):
            await a.open_session(BINDING, timeout=0.5)
        late = asyncio.create_task(a.open_session(BINDING, timeout=10))
        await asyncio.sleep(0.3)
        assert not late.done()  # still waiting for bob
        await asyncio.wait_for(asyncio.gather(late, b.open_session(BINDING, timeout=10)), 20)
