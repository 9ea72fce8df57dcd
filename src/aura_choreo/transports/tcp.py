"""`tcp://host:port`: TLS 1.3 over asyncio streams, the default carrier (SPEC §5.6).

Only what is specific to TCP lives here (listening, dialing, the stream as a `Pipe`); connections,
authentication, sessions and reconnection are `transports.carrier`'s, the decisions `transports.net`'s.
The transport itself is `transports.carrier.TcpTransport` (its carrier chosen per address scheme).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aura_choreo.transports.pipes import Carrier, Listener, Pipe, PipeHandler, PushPipe, parse_address
from aura_choreo.transports.tls import Credentials
from aura_choreo.transports.tls_socket import dial_tls, listen_tls

__all__ = ["CARRIER", "TcpCarrier", "TcpListener", "TcpPipe", "TcpProtocol", "parse_tcp_address"]


def parse_tcp_address(address: str) -> tuple[str, int]:
    """(host, port) of `tcp://host:port`; `ValueError` says what is wrong."""
    scheme, host, port = parse_address(address)
    if scheme != "tcp":
        raise ValueError(f"`{address}`: expected tcp://host:port")
    return host, port


class TcpPipe(PushPipe):
    """A TLS stream as a `Pipe`, on a protocol of our own (not asyncio's streams): the bytes go to the
    connection from the transport's callback, with no reader task woken per chunk."""

    def __init__(self) -> None:
        super().__init__()
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self._closed: asyncio.Future[None] = loop.create_future()
        self._can_write: asyncio.Future[None] | None = None
        self._paused = False

    def peer_certificate(self) -> bytes | None:
        ssl_object = self.transport.get_extra_info("ssl_object") if self.transport is not None else None
        if ssl_object is None:
            return None
        der: bytes | None = ssl_object.getpeercert(binary_form=True)
        return der

    def write(self, data: bytes) -> None:
        transport = self.transport
        # asyncio's TLS transport logs a warning per write once closed: drop them here instead.
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def buffered(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    def must_drain(self) -> bool:
        # asyncio's own flow control (`pause_writing` past the TLS transport's high-water mark) says
        # so without adding up its buffers after every message.
        return self._paused

    async def drain(self) -> None:
        if self._paused and not self._closed.done():
            if self._can_write is None:
                self._can_write = asyncio.get_running_loop().create_future()
            await asyncio.wait([self._can_write, self._closed], return_when=asyncio.FIRST_COMPLETED)

    def is_closing(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    # ------------------------------------------------------------------ from the protocol

    _bytes_in = PushPipe._arrived
    """Bytes from the socket (a layer over TLS, as `ws.py`'s WebSocket, unwraps them here): over
    plain TLS they have arrived (an alias, not a call more per chunk)."""

    def _eof_in(self) -> None:
        """The peer closed its end."""
        self._ended(None)

    def _lost(self, error: Exception | None) -> None:
        self._ended(error)
        self._resumed()
        if not self._closed.done():
            self._closed.set_result(None)

    def _resumed(self) -> None:
        self._paused = False
        waiter, self._can_write = self._can_write, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class TcpProtocol(asyncio.Protocol):
    """asyncio's callbacks for one connection, handed to its pipe (`on_open`: once it is connected)."""

    def __init__(self, pipe: TcpPipe, on_open: Callable[[TcpPipe], None] | None = None) -> None:
        self.pipe = pipe
        self._on_open = on_open

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.pipe.transport = transport
        if self._on_open is not None:
            self._on_open(self.pipe)

    def data_received(self, data: bytes) -> None:
        self.pipe._bytes_in(data)

    def eof_received(self) -> bool:
        self.pipe._eof_in()
        return False  # close our end too

    def connection_lost(self, exc: Exception | None) -> None:
        self.pipe._lost(exc)

    def pause_writing(self) -> None:
        self.pipe._paused = True

    def resume_writing(self) -> None:
        self.pipe._resumed()


class TcpListener:
    """A TCP server whose accepted connections are served by tasks it owns (`accepted` starts one)."""

    def __init__(self, on_pipe: PipeHandler) -> None:
        self._on_pipe = on_pipe
        self._tasks: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None

    def accepted(self, pipe: TcpPipe) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(pipe))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, pipe: TcpPipe) -> None:
        await self._on_pipe(pipe)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def wait_closed(self) -> None:
        if self._tasks:  # each ends once its connection is closed (the transport closes them first)
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()


class TcpCarrier(Carrier):
    """TLS 1.3 on non-blocking `ssl.SSLSocket`s (`transports.tls_socket`): OpenSSL's record layer
    reads and writes the socket, with no asyncio TLS protocol in between."""

    scheme = "tcp"

    async def listen(
        self, host: str, port: int, on_pipe: PipeHandler, credentials: Credentials, handshake_timeout: float
    ) -> Listener:
        return await listen_tls(host, port, credentials.ssl_context(server=True), on_pipe, handshake_timeout)

    async def dial(self, address: str, credentials: Credentials, handshake_timeout: float) -> Pipe:
        _, host, port = parse_address(address)
        return await dial_tls(host, port, credentials.ssl_context(server=False), handshake_timeout)


CARRIER = TcpCarrier()
