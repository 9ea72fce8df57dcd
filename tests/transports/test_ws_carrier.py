"""ws://'s own behaviour, against the `websockets` library's client: binary messages only, the size
limit, the opening handshake's time limit, and a logged reason for every refused upgrade."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, PayloadTooBig

from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.pipes import Pipe
from aura_choreo.transports.tls import Credentials
from aura_choreo.transports.tls_socket import TlsSocketPipe
from aura_choreo.transports.ws import _MAX_MESSAGE, CARRIER, WsPipe
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
            assert ws.close_code == 1005  # a close frame (with no status), not a dropped socket (1006)


async def test_a_text_message_ends_the_connection_with_an_error() -> None:
    async with listening() as (port, served), client(port) as ws:
        async with asyncio.timeout(10):
            pipe = await served.get()
            await ws.send("text")
            with pytest.raises(ValueError, match="text message"):
                await pipe.read()
            with pytest.raises(ConnectionClosed):
                await ws.recv()


async def test_a_message_over_the_size_limit_ends_the_connection() -> None:
    async with listening() as (port, served), client(port) as ws:
        async with asyncio.timeout(10):
            pipe = await served.get()
            await ws.send(b"x" * (_MAX_MESSAGE + 1))
            with pytest.raises(PayloadTooBig, match="exceeds limit"):
                while await pipe.read():
                    pass
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1009


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
