"""ws://'s own behaviour, against the `websockets` library's client and server: binary messages only
(fragmented or not), pings answered, the size limit, close codes, the opening handshake's time limit,
and a logged reason for every refused upgrade or broken connection."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from websockets.uri import parse_uri

from aura_choreo.transports.carrier import TcpTransport
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.peering import PeerDevice
from aura_choreo.transports.pipes import Pipe
from aura_choreo.transports.tls import Credentials
from aura_choreo.transports.tls_socket import TlsSocketPipe
from aura_choreo.transports.ws import _MAX_MESSAGE, CARRIER, WsPipe
from aura_choreo.transports.ws_frames import WsError
from conftest import free_port

ALICE, BOB = Identity.generate("alice"), Identity.generate("bob")


@asynccontextmanager
async def listening(timeout: float = 5.0) -> AsyncIterator[tuple[int, asyncio.Queue[Pipe]]]:
    """A ws:// listener on a free port; every upgraded connection is put on the queue (and served
    until it is closed)."""
    served: asyncio.Queue[Pipe] = asyncio.Queue()

    async def on_pipe(pipe: Pipe) -> None:
        served.put_nowait(pipe)
        await pipe.wait_closed()

    port = free_port()
    listener = await CARRIER.listen("127.0.0.1", port, on_pipe, Credentials(BOB), timeout)
    try:
        yield port, served
    finally:
        listener.close()
        async with asyncio.timeout(10):
            await listener.wait_closed()


def client(port: int) -> connect:
    ssl = Credentials(ALICE).ssl_context(server=False)
    return connect(f"wss://127.0.0.1:{port}", ssl=ssl, server_hostname="x", compression=None)


async def test_binary_messages_flow_both_ways_over_the_tls_socket_pipe() -> None:
    async with listening() as (port, served), client(port) as ws:
        async with asyncio.timeout(10):
            pipe = await served.get()
            assert isinstance(pipe, WsPipe) and isinstance(pipe.tls, TlsSocketPipe)
            await ws.send(b"ping")
            assert await pipe.read() == b"ping"
            pipe.write(b"pong")
            assert await ws.recv() == b"pong"
            pipe.close()
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1000  # a normal close frame, not a dropped socket (1006)


async def test_a_text_message_ends_the_connection_with_an_error() -> None:
    async with listening() as (port, served), client(port) as ws:
        async with asyncio.timeout(10):
            pipe = await served.get()
            await ws.send("text")
            with pytest.raises(ValueError, match="text message"):
                await pipe.read()
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1003


async def test_a_message_over_the_size_limit_ends_the_connection_with_1009_and_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "aura_choreo.ws")
    async with listening() as (port, served), client(port) as ws:
        async with asyncio.timeout(10):
            pipe = await served.get()
            await ws.send(b"x" * (_MAX_MESSAGE + 1))
            with pytest.raises(WsError, match="exceeds the limit"):
                while await pipe.read():
                    pass
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1009
    assert f"closed with 1009: message of {_MAX_MESSAGE + 1} bytes" in caplog.text


async def test_a_fragmented_message_arrives_whole_and_pings_are_answered() -> None:
    async with listening() as (port, served), client(port) as ws:
        async with asyncio.timeout(10):
            pipe = await served.get()
            await ws.send([b"frag", b"ment", b"ed"])
            assert await pipe.read() == b"fragmented"
            await (await ws.ping(b"are you there"))  # the pong came back
            await ws.close(4000, "done")
            assert await pipe.read() == b""  # a close frame is the peer's clean end
            assert ws.close_code == 4000  # its code echoed


async def test_our_dialer_talks_to_a_websockets_server() -> None:
    async def echo(connection: ServerConnection) -> None:
        async for message in connection:
            await connection.send(message)

    port = free_port()
    server_ssl = Credentials(BOB).ssl_context(server=True)
    async with serve(echo, "127.0.0.1", port, ssl=server_ssl, compression=None, max_size=None):
        pipe = await CARRIER.dial(f"ws://127.0.0.1:{port}/any/path", Credentials(ALICE), 5.0)
        async with asyncio.timeout(10):
            big = bytes(range(256)) * 1000  # over 65535: the long length form, masked
            for data in (b"hello", big):
                pipe.write(data)
                received = b""
                while len(received) < len(data):
                    received += await pipe.read()
                assert received == data
            pipe.close()
            await pipe.wait_closed()


async def test_an_upgrade_not_sent_in_time_is_closed_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "aura_choreo.ws")
    async with listening(timeout=0.3) as (port, served):
        ssl = Credentials(ALICE).ssl_context(server=False)
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ssl)
        async with asyncio.timeout(10):
            assert await reader.read() == b""  # the server closed the connection
        writer.close()
        assert served.empty()
    assert "WebSocket upgrade not finished in 0.3s" in caplog.text


async def test_a_garbage_upgrade_is_closed_with_its_reason_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "aura_choreo.ws")
    async with listening() as (port, served):
        ssl = Credentials(ALICE).ssl_context(server=False)
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ssl)
        writer.write(b"\x00\xff garbage \r\n\r\n")
        async with asyncio.timeout(10):
            assert await reader.read() == b""
        writer.close()
        assert served.empty()
    failed = [r.getMessage() for r in caplog.records if "WebSocket upgrade failed" in r.getMessage()]
    assert failed and len(failed[0]) > len("WebSocket upgrade failed: ")


async def upgraded_raw_client(port: int) -> tuple[ClientProtocol, asyncio.StreamReader, asyncio.StreamWriter]:
    """A TLS connection upgraded by hand (alice's certificate), to send any bytes after the upgrade."""
    protocol = ClientProtocol(parse_uri(f"wss://127.0.0.1:{port}/"))
    protocol.send_request(protocol.connect())
    ssl = Credentials(ALICE).ssl_context(server=False)
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ssl, server_hostname="x")
    for data in protocol.data_to_send():
        writer.write(data)
    while protocol.state is State.CONNECTING:
        protocol.receive_data(await reader.read(65536))
    assert protocol.state is State.OPEN
    return protocol, reader, writer


def frame(first: int, payload: bytes, *, length: int | None = None) -> bytes:
    size = len(payload) if length is None else length
    if size < 126:
        head = bytes((first, 0x80 | size))
    else:
        head = bytes((first, 0x80 | 127)) + size.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload  # a zero mask key: the payload as it is


GARBAGE = {
    "oversized": (frame(0x82, b"", length=_MAX_MESSAGE + 1), 1009),
    "unmasked": (bytes((0x82, 3)) + b"abc", 1002),
    "reserved bits": (frame(0xF2, b"abc"), 1002),
    "bad opcode": (frame(0x8B, b""), 1002),
    "random": (random.Random(7).randbytes(300), 1002),
}


@pytest.mark.parametrize("case", list(GARBAGE))
async def test_garbage_after_the_upgrade_closes_with_its_code_and_log_lines_and_the_transport_serves_on(
    case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "aura_choreo")
    data, code = GARBAGE[case]
    address = f"ws://127.0.0.1:{free_port()}"
    binding = SessionBinding("a" * 64, "s1", {"A": "alice", "B": "bob"})
    bob = TcpTransport(BOB, {"alice": PeerDevice("alice", ALICE.public_bytes)}, listen=address)
    async with bob:
        bob.register_session(binding)
        protocol, reader, writer = await upgraded_raw_client(int(address.rsplit(":", 1)[1]))
        writer.write(data)
        async with asyncio.timeout(10):
            while received := await reader.read(65536):
                protocol.receive_data(received)
        writer.close()
        assert protocol.close_rcvd is not None and protocol.close_rcvd.code == code
        async with TcpTransport(ALICE, {"bob": PeerDevice("bob", BOB.public_bytes, address)}) as alice:
            opened = alice.open_session(binding, timeout=10), bob.open_session(binding, timeout=10)
            await asyncio.gather(*opened)
    assert f"WebSocket connection closed with {code}" in caplog.text
    assert "bob: connection from ? closed unauthenticated (connection error:" in caplog.text
