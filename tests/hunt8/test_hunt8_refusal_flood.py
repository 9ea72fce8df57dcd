"""Every refusal was kept and printed, however often it repeated, found by hunt8.

`NetworkTransport.refusals` grew by one line per refused connection or JOIN, forever: a stranger
connecting in a loop (no key needed to reach the HELLO: the TLS anchor is public) grew a listener's
memory without bound, and two roles started with different `--session` ids (or `--param`s, which
change the default session) logged and printed in `run --json` one identical "unknown-session" line
per retry (5 a second), while the PeerTimeout each side finally raised said "Connect call failed" or
"no connection" instead of the mismatch. Fixed in transports/peering.py: a refusal repeating one
already kept is counted (`refused`), not kept or logged again, at most 200 distinct are kept (as
`nats_broker` does); and a peer that joined only another session is named in the PeerTimeout.
"""

from __future__ import annotations

import asyncio
import ssl

import pytest

from aura_choreo.errors import PeerTimeout
from aura_choreo.transports.carrier import TcpTransport
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.peering import PeerDevice
from aura_choreo.transports.tls import tls_context
from conftest import free_port

ALICE, BOB, STRANGER = Identity.generate("alice"), Identity.generate("bob"), Identity.generate("alice")
ROLES = {"Client": "alice", "Server": "bob"}


async def test_a_stranger_connecting_in_a_loop_leaves_one_refusal_not_one_per_connection() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    port = int(address.rsplit(":", 1)[1])
    async with TcpTransport(BOB, {"alice": PeerDevice("alice", ALICE.public_bytes)}, listen=address) as bob:
        for _ in range(20):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=tls_context(STRANGER, server=False)
            )
            try:
                await asyncio.wait_for(reader.read(), 5)  # refused and closed by bob
            except (ConnectionError, ssl.SSLError):
                pass
            writer.close()
        assert bob.refused >= 20
        assert len(bob.refusals) == 1 and "unknown-key" in bob.refusals[0]


async def test_roles_on_different_sessions_say_so_once_not_per_retry() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    bob = TcpTransport(BOB, {"alice": PeerDevice("alice", ALICE.public_bytes)}, listen=address)
    alice = TcpTransport(ALICE, {"bob": PeerDevice("bob", BOB.public_bytes, address)})
    async with bob, alice:
        results = await asyncio.gather(
            bob.open_session(SessionBinding("h", "s-bob", ROLES), timeout=1.5),
            alice.open_session(SessionBinding("h", "s-alice", ROLES), timeout=1.5),
            return_exceptions=True,
        )
    for result in results:
        assert isinstance(result, PeerTimeout)
    bob_error, alice_error = (str(r) for r in results)
    assert "alice" in bob_error and "s-alice" in bob_error and "--session" in bob_error
    assert "bob" in alice_error and "no session s-alice" in alice_error and "--session" in alice_error
    assert len(bob.refusals) == 1 and len(alice.refusals) == 1
    assert bob.refused > 1  # alice retried
    # Each side's line names the refusing side once ("refused by bob: refused by bob: ..." before).
    assert alice.refusals[0].count("refused by bob") == 1, alice.refusals
    assert "refused alice" in bob.refusals[0] and "refused by" not in bob.refusals[0], bob.refusals


def test_at_most_200_distinct_refusals_are_kept() -> None:
    transport = TcpTransport(BOB, {})
    for i in range(500):
        transport._refused("?", f"refusal {i}")
    assert len(transport.refusals) == 200 and transport.refused == 500
    assert transport.refusals[0] == "refusal 0"


@pytest.fixture(autouse=True)
def _quiet_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("ERROR")
