"""What is specific to quic://: a dial that gives up leaves nothing behind on the event loop."""

from __future__ import annotations

import asyncio
import gc
import socket
from typing import Any

import pytest

from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.tls import Credentials
from conftest import require_quic

ALICE = Identity.generate("alice")


async def test_a_quic_dial_that_times_out_leaves_no_unretrieved_exception_when_its_connection_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A peer that has exited is redialled until the session gives up; each dial times out in its
    handshake and its connection ends seconds later (aioquic's close timer). That end must not set an
    exception on a future nobody awaits: asyncio would print "Future exception was never retrieved
    ... ConnectionError" on stderr once per dial."""
    require_quic()
    from aura_choreo.transports import quic

    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    protocols: list[Any] = []

    class Recorded(quic._QuicProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            protocols.append(self)

    monkeypatch.setattr(quic, "_QuicProtocol", Recorded)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, never answers
        silent.bind(("127.0.0.1", 0))
        address = f"quic://127.0.0.1:{silent.getsockname()[1]}"
        for _ in range(2):
            with pytest.raises(TimeoutError):
                await quic.CARRIER.dial(address, Credentials(ALICE), 0.2)
        async with asyncio.timeout(30):  # the connections end by themselves (their close timers)
            await asyncio.gather(*(protocol.wait_closed() for protocol in protocols))
    assert len(protocols) == 2
    protocols.clear()
    gc.collect()  # a future with an exception nobody retrieved reports it when it is collected
    await asyncio.sleep(0)
    assert [context.get("message") for context in reported] == []
