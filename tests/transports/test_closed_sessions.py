"""A peer's last frames after this side closed the session (hunt5's finding): over a live tcp://
connection, a frame of a closed session from the device bound to it goes to the session layer, which
answers it as a late frame (a data frame is acknowledged again, nothing is delivered), and is not
counted as a refusal; a frame of a session never joined is still refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aura_choreo.deployment.run import envelope_origin
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
from aura_choreo.transports.carrier import _MAX_CLOSED, TcpTransport
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.peering import PeerDevice
from conftest import free_port

ALICE, BOB = Identity.generate("alice"), Identity.generate("bob")
BINDING = SessionBinding("a" * 64, "s1", {"Client": "alice", "Server": "bob"})


@dataclass
class Pair:
    """bob (a node on a checked transport, playing Server) and alice (a bare transport, Client)."""

    bob: TcpTransport
    node: Node
    alice: TcpTransport
    to_alice: list[Envelope] = field(default_factory=list)

    async def alice_sends(self, session: str, sender: str, kind: int = KIND_DATA, seq: int = 1) -> None:
        envelope = Envelope(WIRE_VERSION, kind, session, "", sender, "Server", "M", seq, NIL)
        await self.alice._post(self.bob.local_address, encode_envelope(envelope))

    def close_on_bob(self) -> None:
        """What a finished role does: its endpoint leaves the node, then the session is closed."""
        self.node.release("s1", "Server")
        self.bob.close_session("s1")


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)


@asynccontextmanager
async def session_between_alice_and_bob() -> AsyncIterator[Pair]:
    address = f"tcp://127.0.0.1:{free_port()}"
    bob = TcpTransport(
        BOB, {"alice": PeerDevice("alice", ALICE.public_bytes)}, listen=address, frame_origin=envelope_origin
    )
    alice = TcpTransport(
        ALICE,
        {"bob": PeerDevice("bob", BOB.public_bytes, address)},
        handshake_timeout=2.0,
        frame_origin=envelope_origin,
    )
    async with bob, Node(bob, bob.local_address, linger=0) as node, alice:
        pair = Pair(bob, node, alice)
        alice.attach(alice.local_address, lambda _a, frame: pair.to_alice.append(decode_envelope(frame)))
        node.inbox("s1", "Server")  # bob's endpoint joins
        bob.register_session(BINDING)
        await alice.open_session(BINDING, timeout=10)
        await until(lambda: bob._is_open("alice", "s1"))
        yield pair


async def test_a_data_frame_after_close_is_acknowledged_again_and_not_delivered() -> None:
    async with session_between_alice_and_bob() as pair:
        pair.close_on_bob()
        await pair.alice_sends("s1", "Client")  # resent: bob's ack of it was lost
        await until(lambda: bool(pair.to_alice))
        assert [(e.kind, e.session, e.sender, e.receiver, e.seq) for e in pair.to_alice] == [
            (KIND_ACK, "s1", "Server", "Client", 1)
        ]
        assert pair.node.stats.after_end == 1  # answered as a late frame: no inbox took it
        assert pair.node.retained()["inboxes"] == 0
        assert pair.bob.refusals == [] and pair.bob.forged == 0


async def test_the_final_ack_after_close_reaches_the_session_layer_silently() -> None:
    async with session_between_alice_and_bob() as pair:
        last = Envelope(WIRE_VERSION, KIND_DATA, "s1", "", "Server", "Client", "M", 1, NIL)
        await pair.node.send(pair.alice.local_address, last)
        await until(lambda: bool(pair.to_alice))
        pair.close_on_bob()
        await pair.alice_sends("s1", "Client", kind=KIND_ACK)  # alice's acknowledgement of `last`
        await until(lambda: pair.node.unacked_frames() == 0)
        assert pair.node.unacked_frames() == 0  # bob stops retransmitting
        assert pair.bob.refusals == [] and pair.bob.forged == 0


async def test_frames_of_a_session_never_joined_or_another_role_are_still_refused_after_close() -> None:
    async with session_between_alice_and_bob() as pair:
        pair.close_on_bob()
        await pair.alice_sends("s2", "Client")  # a session alice never joined
        await pair.alice_sends("s1", "Server")  # the closed session, but bob's role
        await until(lambda: pair.bob.forged == 2)
        await pair.alice_sends("s1", "Client")  # the genuine straggler after them, answered
        await until(lambda: bool(pair.to_alice))
        assert pair.bob.forged == 2
        assert pair.bob.refusals == ["dropped 1 frame(s) from alice: a session or role it has not joined"]
        assert [(e.kind, e.session, e.seq) for e in pair.to_alice] == [(KIND_ACK, "s1", 1)]
        assert pair.node.stats.after_end == 1


def test_a_long_lived_transport_remembers_a_bounded_number_of_closed_sessions() -> None:
    transport = TcpTransport(BOB, {"alice": PeerDevice("alice", ALICE.public_bytes)})
    for n in range(_MAX_CLOSED + 10):
        transport.register_session(SessionBinding("a" * 64, f"s{n}", BINDING.roles))
        transport.close_session(f"s{n}")
    assert len(transport._closed) == _MAX_CLOSED
    assert "s0" not in transport._closed and f"s{_MAX_CLOSED + 9}" in transport._closed


async def test_a_rejoin_after_the_listener_closed_is_admitted_and_a_resend_is_acknowledged() -> None:
    """The connection drops after bob closed s1, which alice still runs: she reconnects and re-joins
    it. bob admits the JOIN of a session he remembers as closed (it was refused as `unknown-session`
    and retried every 0.2 s) and answers her resend on the new connection (it was counted as forged)."""
    async with session_between_alice_and_bob() as pair:
        pair.close_on_bob()
        connections = pair.alice.connections_made
        pair.alice.drop_connections()
        await until(lambda: pair.alice.connections_made > connections and bool(pair.bob._conns))
        await asyncio.sleep(0.5)  # time for a refused JOIN to be retried and logged
        await pair.alice_sends("s1", "Client")  # resent: bob's ack of it was lost with the connection
        await until(lambda: bool(pair.to_alice))
        assert [(e.kind, e.session, e.seq) for e in pair.to_alice] == [(KIND_ACK, "s1", 1)]
        assert pair.bob.refusals == [] and pair.alice.refusals == []
        assert pair.bob.forged == 0 and pair.node.stats.after_end == 1
        assert ("alice", "s1") not in pair.bob._ready  # a closed session does not become ready again


async def _reconnect_after_alice_closed(pair: Pair) -> None:
    """alice (the dialer) finishes s1 and closes it while bob still runs it; the connection drops."""
    pair.alice.close_session("s1")
    connections = pair.alice.connections_made
    pair.alice.drop_connections()
    await until(lambda: pair.alice.connections_made > connections and bool(pair.bob._conns))


async def _bob_sends_his_last_frame_and_alice_acknowledges_it(pair: Pair) -> None:
    last = Envelope(WIRE_VERSION, KIND_DATA, "s1", "", "Server", "Client", "M", 1, NIL)
    await pair.node.send(pair.alice.local_address, last)  # resent: alice's ack was lost with the connection
    await until(lambda: bool(pair.to_alice))
    assert [(e.kind, e.session, e.seq) for e in pair.to_alice] == [(KIND_DATA, "s1", 1)]
    await pair.alice_sends("s1", "Client", kind=KIND_ACK)  # her session layer answers it as a late frame
    await until(lambda: pair.node.unacked_frames() == 0)
    assert pair.node.unacked_frames() == 0  # bob stops retransmitting
    assert pair.alice.forged == 0 and pair.bob.forged == 0
    assert pair.alice.refusals == [] and pair.bob.refusals == []


async def test_a_dialer_rejoins_a_session_it_closed_so_the_listeners_resend_reaches_it() -> None:
    """The dialing side of the re-JOIN (nats5's finding): the new connection joined only open
    sessions, so with none open it never opened and bob's resend waited in his queue for good."""
    async with session_between_alice_and_bob() as pair:
        await _reconnect_after_alice_closed(pair)
        await _bob_sends_his_last_frame_and_alice_acknowledges_it(pair)
        assert ("bob", "s1") not in pair.alice._ready  # a closed session does not become ready again


async def test_a_dialers_rejoin_of_a_closed_session_is_not_counted_forged_beside_an_open_one() -> None:
    """Same, with another session open on the new connection: bob's resend of s1 was written on it
    and alice counted it as forged (s1 not joined there)."""
    async with session_between_alice_and_bob() as pair:
        other = SessionBinding("a" * 64, "s2", BINDING.roles)
        pair.bob.register_session(other)
        await pair.alice.open_session(other, timeout=10)
        await _reconnect_after_alice_closed(pair)
        await until(lambda: "s2" in pair.alice._conns["bob"].state.open_sessions)
        await _bob_sends_his_last_frame_and_alice_acknowledges_it(pair)


async def test_a_closed_session_the_listener_forgot_is_dropped_quietly_on_rejoin() -> None:
    """alice re-joins s1 after a reconnect, but bob no longer knows it: the refusal is logged, not
    reported as a refusal of a live session, and nothing waits on it."""
    async with session_between_alice_and_bob() as pair:
        pair.close_on_bob()
        pair.bob._closed.clear()  # bob forgot s1 (evicted from his closed-session memory)
        await _reconnect_after_alice_closed(pair)
        await asyncio.sleep(0.5)  # time for the refused JOIN to come back
        assert pair.alice.refusals == [] and pair.alice._failures == {}
