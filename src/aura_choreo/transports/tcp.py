"""`tcp://host:port`: TLS 1.3 over asyncio streams, the default carrier (SPEC §5.6).

Only what is specific to TCP lives here (listening, dialing, the stream as a `Pipe`); connections,
authentication, sessions and reconnection are `transports.carrier`'s, the decisions `transports.net`'s.
The transport itself is `transports.carrier.TcpTransport` (its carrier chosen per address scheme).
"""

from __future__ import annotations

import asyncio

from aura_choreo.transports.pipes import Carrier, Listener, Pipe, PipeHandler, parse_address
from aura_choreo.transports.tls import Credentials

__all__ = ["CARRIER", "StreamPipe", "TcpCarrier", "parse_tcp_address"]


def parse_tcp_address(address: str) -> tuple[str, int]:
    """(host, port) of `tcp://host:port`; `ValueError` says what is wrong."""
    scheme, host, port = parse_address(address)
    if scheme != "tcp":
        raise ValueError(f"`{address}`: expected tcp://host:port")
    return host, port


class StreamPipe(Pipe):
    """An asyncio stream (TLS already negotiated) as a `Pipe`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def peer_certificate(self) -> bytes | None:
        ssl_object = self.writer.get_extra_info("ssl_object")
        if ssl_object is None:
            return None
        der: bytes | None = ssl_object.getpeercert(binary_form=True)
        return der

    async def read(self) -> bytes:
        return await self.reader.read(1 << 16)

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    def buffered(self) -> int:
        transport = self.writer.transport
        return transport.get_write_buffer_size() if transport is not None else 0

    async def drain(self) -> None:
        await self.writer.drain()

    def is_closing(self) -> bool:
        return self.writer.is_closing()

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()

    def abort(self) -> None:
        transport = self.writer.transport
        if transport is not None:
            transport.abort()

    async def wait_closed(self) -> None:
        await self.writer.wait_closed()


class TcpCarrier(Carrier):
    scheme = "tcp"

    async def listen(
        self, host: str, port: int, on_pipe: PipeHandler, credentials: Credentials, handshake_timeout: float
    ) -> Listener:
        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await on_pipe(StreamPipe(reader, writer))

        return await asyncio.start_server(
            accepted,
            host,
            port,
            ssl=credentials.ssl_context(server=True),
            ssl_handshake_timeout=handshake_timeout,
        )

    async def dial(self, address: str, credentials: Credentials, handshake_timeout: float) -> Pipe:
        _, host, port = parse_address(address)
        reader, writer = await asyncio.open_connection(
            host, port, ssl=credentials.ssl_context(server=False), ssl_handshake_timeout=handshake_timeout
        )
        return StreamPipe(reader, writer)


CARRIER = TcpCarrier()
