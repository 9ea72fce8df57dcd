"""nats://: a peer's last frames after this side closed the session (as tcp:// does since fix5,
`test_closed_sessions.py`): they still reach the session layer, which answers them as late frames (a
data frame is acknowledged again, nothing is delivered); a long-lived transport stays subscribed to a
bounded number of closed sessions; the unsubscriptions are tasks it owns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from aura_choreo.runtime.node import Node
from aura_choreo.runtime.wire import (
    KIND_ACK,
    KIND_DATA,
    NIL,
    WIRE_VERSION,
    Envelope,
    decode_envelope,
    encode_envelope,
)
from aura_choreo.transports import nats_broker
from aura_choreo.transports.nats_broker import NatsTransport
from aura_choreo.transports.nats_server import NatsServer
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.peering import PeerDevice
from conftest import require_nats

require_nats()

ALICE, BOB = Identity.generate("alice"), Identity.generate("bob")
ROLES = {"Client": "alice", "Server": "bob"}
BINDING = SessionBinding("a" * 64, "s1", ROLES)


@dataclass
class Pair:
    """bob (a node on nats://, playing Server) and alice (a bare nats:// transport, Client)."""

    bob: NatsTransport
    node: Node
    alice: NatsTransport
    to_alice: list[Envelope] = field(default_factory=list)

    async def alice_sends(self, kind: int = KIND_DATA, seq: int = 1) -> None:
        envelope = Envelope(WIRE_VERSION, kind, "s1", "", "Client", "Server", "M", seq, NIL)
        await self.alice._send(encode_envelope(envelope))

    def close_on_bob(self) -> None:
        """What a finished role does: its endpoint leaves the node, then the session is closed."""
        self.node.release("s1", "Server")
        self.bob.close_session("s1")


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)


def transport(identity: Identity, peer: Identity, server: NatsServer) -> NatsTransport:
    peers = {peer.device: PeerDevice(peer.device, peer.public_bytes, server.url)}
    return NatsTransport(identity, peers, server=server.url)


@asynccontextmanager
async def session_between_alice_and_bob(server: NatsServer) -> AsyncIterator[Pair]:
    bob, alice = transport(BOB, ALICE, server), transport(ALICE, BOB, server)
    async with bob, Node(bob, bob.local_address, linger=0) as node, alice:
        pair = Pair(bob, node, alice)
        alice.attach(alice.local_address, lambda _a, frame: pair.to_alice.append(decode_envelope(frame)))
        node.inbox("s1", "Server")  # bob's endpoint joins
        await asyncio.gather(alice.open_session(BINDING, timeout=10), bob.open_session(BINDING, timeout=10))
        yield pair


async def test_a_data_frame_after_close_is_acknowledged_again_and_not_delivered(
    nats_server: NatsServer,
) -> None:
    async with session_between_alice_and_bob(nats_server) as pair:
        pair.close_on_bob()
        await pair.alice_sends()  # resent: bob's ack of it was lost
        await until(lambda: bool(pair.to_alice))
        assert [(e.kind, e.session, e.sender, e.receiver, e.seq) for e in pair.to_alice] == [
            (KIND_ACK, "s1", "Server", "Client", 1)
        ]
        assert pair.node.stats.after_end == 1  # answered as a late frame: no inbox took it
        assert pair.node.retained()["inboxes"] == 0
        assert pair.bob.rejected == 0


async def test_the_final_ack_after_close_reaches_the_session_layer(nats_server: NatsServer) -> None:
    async with session_between_alice_and_bob(nats_server) as pair:
        last = Envelope(WIRE_VERSION, KIND_DATA, "s1", "", "Server", "Client", "M", 1, NIL)
        await pair.node.send(pair.alice.local_address, last)
        await until(lambda: bool(pair.to_alice))
        pair.close_on_bob()
        await pair.alice_sends(kind=KIND_ACK)  # alice's acknowledgement of `last`
        await until(lambda: pair.node.unacked_frames() == 0)
        assert pair.node.unacked_frames() == 0  # bob stops retransmitting
        assert pair.bob.rejected == 0


async def test_a_replay_of_a_closed_sessions_frame_is_still_rejected(nats_server: NatsServer) -> None:
    async with session_between_alice_and_bob(nats_server) as pair:
        await pair.alice_sends()
        await until(lambda: bool(pair.to_alice))  # bob acknowledged it
        pair.close_on_bob()
        alice = pair.alice
        alice._counter -= 1  # the same counter again: what a broker replaying the frame would deliver
        alice._next_counter = lambda: alice._counter  # type: ignore[method-assign]
        await pair.alice_sends()
        await until(lambda: pair.bob.rejected == 1)
        assert pair.bob.rejected == 1 and "replayed" in pair.bob.refusals[0]


async def test_a_long_lived_transport_stays_subscribed_to_a_bounded_number_of_closed_sessions(
    nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    bound = 5
    monkeypatch.setattr(nats_broker, "_MAX_CLOSED", bound)
    alice = transport(ALICE, BOB, nats_server)
    async with alice:
        for n in range(bound + 3):
            binding = SessionBinding("a" * 64, f"s{n}", ROLES)
            await alice.open_session(binding, peers=set(), timeout=10)
            alice.close_session(binding.session)
        assert len(alice._closed) == bound
        assert sorted(alice._subscriptions) == sorted(alice._closed)
        assert "s0" not in alice._closed and f"s{bound + 2}" in alice._closed
        await until(lambda: not alice._tasks)
        assert not alice._tasks  # the evicted sessions' unsubscriptions finished
        assert len(alice._nc._subs) == bound  # and the client holds no more subscriptions


async def test_closing_the_transport_finishes_pending_unsubscriptions(
    nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nats_broker, "_MAX_CLOSED", 0)  # a closed session is unsubscribed at once
    alice = transport(ALICE, BOB, nats_server)
    async with alice:
        binding = SessionBinding("a" * 64, "s1", ROLES)
        await alice.open_session(binding, peers=set(), timeout=10)
        subscriptions = list(alice._subscriptions["s1"])
        alice.close_session(binding.session)
        tasks = set(alice._tasks)  # owned by the transport, not left to the garbage collector
        assert len(tasks) == 1
    assert all(task.done() and not task.cancelled() and task.exception() is None for task in tasks)
    assert all(subscription._closed for subscription in subscriptions)


async def _restart(server: NatsServer, *transports: NatsTransport) -> None:
    """The broker connection drops (a server restart) and every transport reconnects."""
    before = [t.connections_made for t in transports]
    await asyncio.to_thread(server.restart)
    await until(lambda: all(t.connections_made > n for t, n in zip(transports, before, strict=True)))
    assert all(t.connections_made > n for t, n in zip(transports, before, strict=True))


async def test_a_resend_to_a_closed_session_is_answered_after_a_broker_reconnect(
    nats_server: NatsServer,
) -> None:
    """alice finished s1 and closed it; bob's last frame (whose ack the drop lost) is resent after the
    reconnect: it reaches alice's session layer, and her ack of it reaches bob's, which stops
    retransmitting (the dialing side of the re-JOIN on tcp://; nats:// has no JOIN to repeat)."""
    async with session_between_alice_and_bob(nats_server) as pair:
        pair.alice.close_session("s1")
        await _restart(nats_server, pair.alice, pair.bob)
        last = Envelope(WIRE_VERSION, KIND_DATA, "s1", "", "Server", "Client", "M", 1, NIL)
        await pair.node.send(pair.alice.local_address, last)
        await until(lambda: bool(pair.to_alice))
        assert [(e.kind, e.session, e.seq) for e in pair.to_alice] == [(KIND_DATA, "s1", 1)]
        ack = Envelope(WIRE_VERSION, KIND_ACK, "s1", "", "Client", "Server", "M", 1, NIL)
        await pair.alice._send(encode_envelope(ack))  # what her session layer answers to a late frame
        await until(lambda: pair.node.unacked_frames() == 0)
        assert pair.node.unacked_frames() == 0
        assert pair.alice.rejected == 0 and pair.bob.rejected == 0


async def test_a_resend_after_both_closed_and_a_broker_reconnect_is_acknowledged(
    nats_server: NatsServer,
) -> None:
    async with session_between_alice_and_bob(nats_server) as pair:
        pair.close_on_bob()
        pair.alice.close_session("s1")
        await _restart(nats_server, pair.alice, pair.bob)
        await pair.alice_sends()  # resent: bob's ack of it was lost with the connection
        await until(lambda: bool(pair.to_alice))
        assert [(e.kind, e.session, e.seq) for e in pair.to_alice] == [(KIND_ACK, "s1", 1)]
        assert pair.node.stats.after_end == 1
        assert pair.alice.rejected == 0 and pair.bob.rejected == 0
