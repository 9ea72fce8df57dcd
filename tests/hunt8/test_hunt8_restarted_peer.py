"""A role process restarted mid-session was spliced into the session, found by hunt8.

Restarting a crashed `aura-choreo run` with the same command joins the same session (the default
`--session` is derived from the protocol and the policy). The new process numbers its frames from 1
again; its peer, still mid-session, took them for duplicates of what the dead process had sent,
dropped them (the new PrepareRequest, with its payload, was lost) and then delivered the new
process's later frames as if they continued the old ones. Both processes reported `ok: true`: one
role saw a message its peer never sent, the other sent one that never arrived. Nothing in the
handshake told two processes of one device apart.

Fixed in transports/net/handshake.py, peering.py and carrier.py: every transport (process) says in its
HELLO a random instance token; a peer device that comes back with another token for a session its
first process opened and spoke in is refused that session (`peer-restarted`), on the listening side by
a REFUSE of its JOIN and on the dialing side by a REFUSE instead of the JOIN. The restarted process
fails with a typed `HandshakeRefused` naming the reason; its peer, whose partner is gone, times out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from aura_choreo.errors import HandshakeRefused
from aura_choreo.transports.carrier import TcpTransport
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.peering import PeerDevice
from conftest import free_port, require_quic

CARRIERS = pytest.mark.parametrize("scheme", ["tcp", "ws", "quic"])

ALICE, BOB = Identity.generate("alice"), Identity.generate("bob")
BINDING = SessionBinding("a" * 64, "s1", {"Client": "alice", "Server": "bob"})


def bob_listening(address: str, delivered: list[bytes]) -> TcpTransport:
    bob = TcpTransport(BOB, {"alice": PeerDevice("alice", ALICE.public_bytes)}, listen=address)
    bob.attach(bob.local_address, lambda _a, frame: delivered.append(frame))
    return bob


def alice_dialing(address: str, delivered: list[bytes] | None = None) -> TcpTransport:
    alice = TcpTransport(ALICE, {"bob": PeerDevice("bob", BOB.public_bytes, address)}, handshake_timeout=2.0)
    alice.attach(
        alice.local_address, lambda _a, frame: (delivered if delivered is not None else []).append(frame)
    )
    return alice


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)


def address_on(scheme: str) -> str:
    if scheme == "quic":
        require_quic()
    return f"{scheme}://127.0.0.1:{free_port()}"


@CARRIERS
async def test_a_restarted_dialer_is_refused_the_session_its_earlier_process_opened(scheme: str) -> None:
    address = address_on(scheme)
    delivered: list[bytes] = []
    async with bob_listening(address, delivered) as bob:
        bob.register_session(BINDING)
        async with alice_dialing(address) as first:
            await first.open_session(BINDING, timeout=10)
            await first._post(address, b"from the first process")
            await until(lambda: bool(delivered))
        # The first process is gone (killed); the same device starts again, same session.
        async with alice_dialing(address) as second:
            with pytest.raises(HandshakeRefused) as refused:
                await second.open_session(BINDING, timeout=10)
            await second._post(address, b"from the second process")
            await asyncio.sleep(0.2)
        assert refused.value.reason == "peer-restarted"
        assert "alice" in str(refused.value) and "s1" in str(refused.value)
        assert delivered == [b"from the first process"]
        assert any("peer-restarted" in r for r in bob.refusals)


@CARRIERS
async def test_a_restarted_listener_is_refused_by_the_dialer_still_in_the_session(scheme: str) -> None:
    address = address_on(scheme)
    first_delivered: list[bytes] = []
    to_alice: list[bytes] = []
    async with alice_dialing(address, to_alice) as alice:
        async with bob_listening(address, first_delivered) as first:
            first.register_session(BINDING)
            await alice.open_session(BINDING, timeout=10)
            await alice._post(address, b"to the first process")
            await first._post(alice.local_address, b"an ack from the first process")
            await until(lambda: bool(first_delivered and to_alice))
        second_delivered: list[bytes] = []
        async with bob_listening(address, second_delivered) as second:
            with pytest.raises(HandshakeRefused) as refused:
                await second.open_session(BINDING, timeout=10)
        assert refused.value.reason == "peer-restarted"
        assert "bob" in str(refused.value)
        assert second_delivered == []
        assert any("peer-restarted" in r for r in alice.refusals)


async def test_reconnecting_without_a_restart_keeps_the_session() -> None:
    """The same process's connection dropping and coming back is no restart (SPEC §5.6)."""
    address = f"tcp://127.0.0.1:{free_port()}"
    delivered: list[bytes] = []
    async with bob_listening(address, delivered) as bob, alice_dialing(address) as alice:
        bob.register_session(BINDING)
        await alice.open_session(BINDING, timeout=10)
        alice.drop_connections()
        await until(lambda: bob.connections_made >= 2)
        await alice._post(address, b"after the reconnect")
        await until(lambda: bool(delivered))
        assert delivered == [b"after the reconnect"]
        assert not [r for r in bob.refusals + alice.refusals if "restarted" in r]


async def _silent_first_then_a_second_that_speaks(address: str, delivered: list[bytes]) -> None:
    """Alice's first process opens the session and ends without a word; her second one opens it again,
    posts one message and ends once bob has it."""
    async with alice_dialing(address) as first:
        await first.open_session(BINDING, timeout=10)
    async with alice_dialing(address) as second:
        await second.open_session(BINDING, timeout=10)
        await second._post(address, b"from the second process")
        await until(lambda: bool(delivered))


async def test_a_process_that_never_spoke_may_be_replaced() -> None:
    """Nothing of the first process reached the session layer (so nothing it was sent was acknowledged
    either): its successor starts the session cleanly, as if the first had never run."""
    address = f"tcp://127.0.0.1:{free_port()}"
    delivered: list[bytes] = []
    async with bob_listening(address, delivered) as bob:
        bob.register_session(BINDING)
        await _silent_first_then_a_second_that_speaks(address, delivered)
        assert delivered == [b"from the second process"]
        assert not [r for r in bob.refusals if "restarted" in r]


async def test_the_process_that_replaced_a_silent_one_is_the_one_a_third_must_not_replace() -> None:
    """The first process never spoke and was replaced; its successor spoke and died: a third process
    of the device is a restart of the second, refused (not compared with the silent first one)."""
    address = address_on("tcp")
    delivered: list[bytes] = []
    async with bob_listening(address, delivered) as bob:
        bob.register_session(BINDING)
        await _silent_first_then_a_second_that_speaks(address, delivered)
        async with alice_dialing(address) as third:
            with pytest.raises(HandshakeRefused) as refused:
                await third.open_session(BINDING, timeout=10)
        assert refused.value.reason == "peer-restarted"
        assert delivered == [b"from the second process"]
