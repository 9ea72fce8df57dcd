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

ALICE, BOB = Identity.generate("alice"), Identity.generate("bob")


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


class _Replies:
    """The listener's end of a request/response exchange: every chunk is answered 3 ms later, from a
    timer callback (so that the answer goes before any later timer of the connection, however late the
    loop runs)."""

    def __init__(self) -> None:
        self.pipe: Any = None

    def on_data(self, data: bytes) -> None:
        asyncio.get_running_loop().call_later(0.003, self.pipe.write, data)

    def on_end(self, error: Exception | None) -> None:
        pass


class _Answers:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def on_data(self, data: bytes) -> None:
        self.queue.put_nowait(data)

    def on_end(self, error: Exception | None) -> None:
        pass


async def test_a_quic_reply_carries_the_ack_of_the_request_instead_of_a_datagram_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """aioquic acknowledges 1 ms after a packet arrives, in a datagram of its own unless it is sending
    something then: a reply that takes longer cost one more datagram each way (the transports benchmark's
    round trips went 2.95 datagrams instead of 2). The reply now carries the ACK (`quic_acks`)."""
    require_quic()
    from aura_choreo.transports import quic

    sent: dict[bool, int] = {True: 0, False: 0}  # datagrams sent by the dialer (True) and the listener

    class Counted(quic._QuicProtocol):
        def transmit(self) -> None:
            before = self.connection._packet_number
            super().transmit()
            sent[self.connection._is_client] += self.connection._packet_number - before

    monkeypatch.setattr(quic, "_QuicProtocol", Counted)
    replies, answers = _Replies(), _Answers()

    async def on_pipe(pipe: Any) -> None:
        replies.pipe = pipe
        pipe.push_to(replies)
        await pipe.wait_closed()

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    listener = await quic.CARRIER.listen("127.0.0.1", port, on_pipe, Credentials(BOB), 5.0)
    pipe = await quic.CARRIER.dial(f"quic://127.0.0.1:{port}", Credentials(ALICE), 5.0)
    pipe.push_to(answers)
    try:
        async with asyncio.timeout(30):
            pipe.write(b"hello")
            assert await answers.queue.get() == b"hello"  # the handshake's own packets are behind us
            sent[False] = 0
            for i in range(20):
                pipe.write(b"request %d" % i)
                assert await answers.queue.get() == b"request %d" % i
    finally:
        pipe.abort()
        listener.close()
        await listener.wait_closed()
    assert sent[False] <= 25  # 20 replies (aioquic's own policy: 40, an ACK and a reply per request)
