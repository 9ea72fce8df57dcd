"""nats://: a role process restarted mid-session was spliced into it, as on tcp:// (found by hunt8).

The broker has no connection per pair of devices, so `test_hunt8_restarted_peer.py`'s fix in the
point-to-point handshake did not cover it: a restarted process's frames carry fresher counters (the
sender's clock), passed every check, and its peer's session layer dropped the first ones as
duplicates of the dead process's and delivered the rest. Fixed in transports/nats_broker.py and
transports/net/signed.py: the signed presence HELLO carries the transport's random instance; a peer
whose first process already spoke in the session is answered by a HELLO refusing the new one, whose
`open_session` raises `HandshakeRefused(peer-restarted)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import msgspec
import pytest

from aura_choreo.errors import HandshakeRefused
from aura_choreo.transports.nats_broker import NatsTransport
from aura_choreo.transports.nats_server import NatsServer
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.peering import PeerDevice
from conftest import require_nats

require_nats()

ALICE, BOB = Identity.generate("alice"), Identity.generate("bob")
BINDING = SessionBinding("h", "s1", {"Coordinator": "alice", "Participant": "bob"})


def envelope(sender: str, receiver: str) -> bytes:
    """A frame whose head reads like the session layer's envelope (what the transport routes by)."""
    return msgspec.msgpack.encode([1, 0, "s1", "p", sender, receiver, "Prepare", 1, None])


def transport(identity: Identity, peer: Identity, url: str, got: list[bytes]) -> NatsTransport:
    t = NatsTransport(identity, {peer.device: PeerDevice(peer.device, peer.public_bytes, url)}, server=url)
    t.attach(t.local_address, lambda _a, frame: got.append(frame))
    return t


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)


async def both_open(*transports: NatsTransport) -> None:
    await asyncio.gather(*(t.open_session(BINDING, timeout=10) for t in transports))


async def test_a_restarted_process_is_refused_the_session_its_first_process_spoke_in(
    nats_server: NatsServer,
) -> None:
    to_bob: list[bytes] = []
    async with transport(BOB, ALICE, nats_server.url, to_bob) as bob:
        async with transport(ALICE, BOB, nats_server.url, []) as first:
            await asyncio.gather(
                bob.open_session(BINDING, timeout=10), first.open_session(BINDING, timeout=10)
            )
            await first._send(envelope("Coordinator", "Participant"))
            await until(lambda: bool(to_bob))
        async with transport(ALICE, BOB, nats_server.url, []) as second:
            with pytest.raises(HandshakeRefused) as refused:
                await second.open_session(BINDING, timeout=10)
        assert refused.value.reason == "peer-restarted"
        assert "alice" in str(refused.value) and "s1" in str(refused.value)
        assert len(to_bob) == 1


async def test_a_first_process_that_never_spoke_may_be_replaced(nats_server: NatsServer) -> None:
    to_bob: list[bytes] = []
    async with transport(BOB, ALICE, nats_server.url, to_bob) as bob:
        async with transport(ALICE, BOB, nats_server.url, []) as first:
            await asyncio.gather(
                bob.open_session(BINDING, timeout=10), first.open_session(BINDING, timeout=10)
            )
        async with transport(ALICE, BOB, nats_server.url, []) as second:
            await second.open_session(BINDING, timeout=10)
            await second._send(envelope("Coordinator", "Participant"))
            await until(lambda: bool(to_bob))
        assert len(to_bob) == 1
        assert not [r for r in bob.refusals if "restarted" in r]
