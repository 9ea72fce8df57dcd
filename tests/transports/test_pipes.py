"""Carriers' byte pipes: chunks pushed from the carrier's callback, and QUIC's backpressure."""

from __future__ import annotations

import asyncio

import pytest

from aura_choreo.transports.carrier import TcpTransport
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.peering import PeerDevice, carrier_for
from aura_choreo.transports.pipes import Pipe, PushPipe
from aura_choreo.transports.tls import Credentials
from conftest import free_port, require_quic

ALICE, BOB = Identity.generate("alice"), Identity.generate("bob")


class _Pipe(PushPipe):
    """A push pipe with no carrier behind it: the test plays the carrier."""

    def peer_certificate(self) -> bytes | None:
        return None

    def write(self, data: bytes) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass

    async def wait_closed(self) -> None:
        pass


class _Receiver:
    def __init__(self) -> None:
        self.data = bytearray()
        self.ends: list[Exception | None] = []
        self.ended = asyncio.Event()

    def on_data(self, data: bytes) -> None:
        self.data += data

    def on_end(self, error: Exception | None) -> None:
        self.ends.append(error)
        self.ended.set()


def test_a_push_pipe_hands_its_owner_what_came_before_it_was_ready_then_the_rest() -> None:
    pipe, receiver = _Pipe(), _Receiver()
    pipe._arrived(b"he")
    pipe._arrived(b"llo")
    assert pipe.push_to(receiver)
    assert bytes(receiver.data) == b"hello"
    pipe._arrived(b"!")
    pipe._ended(None)
    pipe._ended(OSError("later"))  # only the first end counts
    pipe._arrived(b"after the end")
    assert (bytes(receiver.data), receiver.ends) == (b"hello!", [None])


async def test_a_push_pipe_read_in_a_loop_gives_every_chunk_then_its_error() -> None:
    pipe = _Pipe()
    pipe._arrived(b"a")
    pipe._arrived(b"b")
    assert await pipe.read() == b"ab"
    later = asyncio.get_running_loop().call_later(0.01, pipe._arrived, b"c")
    assert await pipe.read() == b"c"
    later.cancel()
    pipe._ended(ConnectionResetError("reset"))
    with pytest.raises(ConnectionResetError):
        await pipe.read()


@pytest.mark.parametrize("kind", ["tcp", "ws", "quic"])
async def test_frames_reach_the_session_layer_from_the_carriers_callback_not_a_reader_task(kind: str) -> None:
    """No task wakes up between the socket and the session layer: a frame is handled in the turn of the
    event loop its bytes arrive in (what makes a round trip two turns per process, not four)."""
    if kind == "quic":
        require_quic()
    a_address, b_address = f"{kind}://127.0.0.1:{free_port()}", f"{kind}://127.0.0.1:{free_port()}"
    a = TcpTransport(ALICE, {"bob": PeerDevice("bob", BOB.public_bytes, b_address)}, listen=a_address)
    b = TcpTransport(BOB, {"alice": PeerDevice("alice", ALICE.public_bytes, a_address)}, listen=b_address)
    arrived: asyncio.Queue[tuple[bytes, asyncio.Task[object] | None]] = asyncio.Queue()
    async with a, b:
        binding = SessionBinding("h", "s", {"A": "alice", "B": "bob"})
        await asyncio.gather(a.open_session(binding, timeout=20), b.open_session(binding, timeout=20))
        link_a = a.attach(a_address, lambda sender, frame: None)
        b.attach(b_address, lambda sender, frame: arrived.put_nowait((frame, asyncio.current_task())))
        for frame in (b"one", b"two"):
            await link_a.send(b_address, frame)
        async with asyncio.timeout(20):
            got = [await arrived.get(), await arrived.get()]
    assert got == [(b"one", None), (b"two", None)]


async def test_a_quic_pipe_counts_unacknowledged_bytes_and_drain_waits_for_the_peers_acks() -> None:
    require_quic()
    from aura_choreo.transports.quic import _LOW_WATER

    carrier = carrier_for("quic://")
    receiver = _Receiver()
    accepted: asyncio.Future[Pipe] = asyncio.get_running_loop().create_future()

    async def on_pipe(pipe: Pipe) -> None:
        pipe.push_to(receiver)
        accepted.set_result(pipe)
        await receiver.ended.wait()

    port = free_port()
    listener = await carrier.listen("127.0.0.1", port, on_pipe, Credentials(BOB), 5.0)
    pipe = await carrier.dial(f"quic://127.0.0.1:{port}", Credentials(ALICE), 5.0)
    try:
        size = 4 * _LOW_WATER
        pipe.write(b"x" * size)
        assert pipe.buffered() > _LOW_WATER  # nothing acknowledged yet: the stream holds it all
        async with asyncio.timeout(30):
            await asyncio.gather(pipe.drain(), pipe.drain())  # two senders of one stream both go on
            assert pipe.buffered() <= _LOW_WATER
            while len(receiver.data) < size:
                await asyncio.sleep(0.01)
        assert bytes(receiver.data) == b"x" * size
    finally:
        pipe.abort()
        listener.close()
        async with asyncio.timeout(10):
            await listener.wait_closed()


async def test_a_ws_connection_that_is_no_websocket_upgrade_is_answered_and_closed() -> None:
    """Plain HTTP instead of an upgrade is answered with an HTTP error, garbage with nothing, and both
    connections are closed; the listener keeps serving real upgrades."""
    carrier = carrier_for("ws://")
    served: list[Pipe] = []

    async def on_pipe(pipe: Pipe) -> None:
        served.append(pipe)
        pipe.close()

    port = free_port()
    listener = await carrier.listen("127.0.0.1", port, on_pipe, Credentials(BOB), 5.0)
    try:
        requests = {b"GET / HTTP/1.1\r\nHost: x\r\n\r\n": b"HTTP/1.1 4", b"\x00\xff garbage \r\n\r\n": b""}
        for request, answered in requests.items():
            client = Credentials(ALICE).ssl_context(server=False)
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
            writer.write(request)
            async with asyncio.timeout(10):
                answer = await reader.read()  # to the end: the server closes the connection
            assert answer.startswith(answered) and (answered or not answer), answer[:40]
            writer.close()
        pipe = await carrier.dial(f"ws://127.0.0.1:{port}", Credentials(ALICE), 5.0)
        async with asyncio.timeout(10):
            while not served:
                await asyncio.sleep(0.01)
        pipe.abort()
    finally:
        listener.close()
        async with asyncio.timeout(10):
            await listener.wait_closed()
