"""`ws://host:port[/path]`: the carrier for proxies and browsers, on `websockets` (extra `[websocket]`).

Only what is specific to WebSocket lives here. The bytes inside binary messages are the same
length-prefixed frames as on TCP (a message may hold several frames or part of one: the frame decoder
does not care), so the handshake, limits, keep-alive and reconnection are the shared layer's. Like
every carrier it runs over TLS 1.3 with the device certificates (on the wire that is `wss`); the
WebSocket library's own pings are off, the shared keep-alive does that job.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from aura_choreo.transports.base import DEFAULT_MAX_FRAME
from aura_choreo.transports.pipes import Carrier, Listener, Pipe, PipeHandler
from aura_choreo.transports.tls import Credentials

_CHUNK = DEFAULT_MAX_FRAME
_MAX_MESSAGE = 2 * DEFAULT_MAX_FRAME
"""A message is at most one chunk of our frames (plus slack); bigger ones close the connection."""


class WsPipe(Pipe):
    """A WebSocket connection as a `Pipe`: one sender task keeps binary messages in order."""

    def __init__(self, connection: ClientConnection | ServerConnection) -> None:
        self.connection = connection
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._queued = 0
        self._closing = False
        self._sender = asyncio.get_running_loop().create_task(self._send_loop())

    def peer_certificate(self) -> bytes | None:
        ssl_object = self.connection.transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return None
        der: bytes | None = ssl_object.getpeercert(binary_form=True)
        return der

    async def read(self) -> bytes:
        try:
            message = await self.connection.recv()
        except ConnectionClosed:
            return b""
        if isinstance(message, str):
            raise ValueError("text message on a binary-only connection")
        return message

    def write(self, data: bytes) -> None:
        for start in range(0, len(data), _CHUNK):
            chunk = data[start : start + _CHUNK]
            self._queued += len(chunk)
            self._queue.put_nowait(chunk)

    def buffered(self) -> int:
        return self._queued

    async def _send_loop(self) -> None:
        with contextlib.suppress(ConnectionClosed, OSError):
            while True:
                chunk = await self._queue.get()
                if chunk is None:
                    await self.connection.close()
                    return
                self._queued -= len(chunk)
                await self.connection.send(chunk)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._queue.put_nowait(None)

    def abort(self) -> None:
        self._closing = True
        self._sender.cancel()
        self.connection.transport.abort()

    async def wait_closed(self) -> None:
        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, OSError):
            await self._sender
        await self.connection.wait_closed()


class WsCarrier(Carrier):
    scheme = "ws"

    async def listen(
        self, host: str, port: int, on_pipe: PipeHandler, credentials: Credentials, handshake_timeout: float
    ) -> Listener:
        async def accepted(connection: ServerConnection) -> None:
            await on_pipe(WsPipe(connection))

        server = await serve(
            accepted,
            host,
            port,
            ssl=credentials.ssl_context(server=True),
            ssl_handshake_timeout=handshake_timeout,
            open_timeout=handshake_timeout,
            ping_interval=None,
            max_size=_MAX_MESSAGE,
            compression=None,
        )
        return server

    async def dial(self, address: str, credentials: Credentials, handshake_timeout: float) -> Pipe:
        parts = urlsplit(address)
        uri = f"wss://{parts.netloc}{parts.path or '/'}"
        connection = await connect(
            uri,
            ssl=credentials.ssl_context(server=False),
            server_hostname="aura-choreo",
            ssl_handshake_timeout=handshake_timeout,
            open_timeout=handshake_timeout,
            ping_interval=None,
            max_size=_MAX_MESSAGE,
            compression=None,
        )
        return WsPipe(connection)


CARRIER = WsCarrier()
