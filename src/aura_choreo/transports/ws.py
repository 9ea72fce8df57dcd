"""`ws://host:port[/path]`: the carrier for proxies and browsers, on `websockets` (extra `[websocket]`).

Only what is specific to WebSocket lives here. The bytes inside binary messages are the same
length-prefixed frames as on TCP (a message may hold several frames or part of one: the frame decoder
does not care), so the handshake, limits, keep-alive and reconnection are the shared layer's. Like
every carrier it runs over TLS 1.3 with the device certificates (on the wire that is `wss`); the
WebSocket library's own pings are not used, the shared keep-alive does that job.

The shell is our own, over the library's sans-I/O protocol (`websockets.client.ClientProtocol`,
`websockets.server.ServerProtocol`: the opening handshake, framing, masking, size limits, the closing
handshake) and the TLS pipe of `tcp.py`: bytes in, events out, and a message's payload goes to the
connection from the socket's callback, written at once, as on tcp://. (On the library's own asyncio
connection each message woke a receiving task and a sending task: two more turns of the event loop.)
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from aura_choreo.transports.base import DEFAULT_MAX_FRAME
from aura_choreo.transports.pipes import Carrier, Listener, Pipe, PipeHandler, parse_address
from aura_choreo.transports.tcp import TcpListener, TcpPipe, TcpProtocol
from aura_choreo.transports.tls import Credentials

__all__ = ["CARRIER", "WsCarrier", "WsPipe"]

_CHUNK = DEFAULT_MAX_FRAME
_MAX_MESSAGE = 2 * DEFAULT_MAX_FRAME
"""A message is at most one chunk of our frames (plus slack); bigger ones close the connection."""
_SERVER_NAME = "aura-choreo"


class WsPipe(TcpPipe):
    """A WebSocket connection over a TLS pipe: frames in and out through the sans-I/O `protocol`."""

    def __init__(self, protocol: ClientProtocol | ServerProtocol) -> None:
        super().__init__()
        self.protocol = protocol
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Done when the opening handshake succeeded (its exception: why it failed)."""
        self.opened.add_done_callback(_retrieved)

    def write(self, data: bytes) -> None:
        if self.protocol.state is not State.OPEN:
            return
        for start in range(0, len(data), _CHUNK):
            self.protocol.send_binary(data[start : start + _CHUNK])
        self._send_out()

    def close(self) -> None:
        if self.protocol.state is State.OPEN:
            self.protocol.send_close()
            self._send_out()
        super().close()

    # ------------------------------------------------------------------ from the protocol

    def _bytes_in(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        self._take_events()

    def _eof_in(self) -> None:
        self.protocol.receive_eof()
        self._take_events()
        self._ended(None)

    def _take_events(self) -> None:
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.BINARY or event.opcode is Opcode.CONT:
                    self._arrived(bytes(event.data))
                elif event.opcode is Opcode.TEXT:
                    self._ended(ValueError("text message on a binary-only connection"))
                    self.abort()
                    return
                elif event.opcode is Opcode.CLOSE:
                    self._ended(None)  # the protocol answers it (below); the peer then closes
            elif isinstance(event, Request):
                self._answer(event)
            elif isinstance(event, Response):
                self._answered()
        self._send_out()
        exc = self.protocol.parser_exc
        if exc is not None:  # too large, malformed: the protocol has queued its close frame
            self._ended(exc)
            if not self.opened.done():
                self.opened.set_exception(exc)

    def _answer(self, request: Request) -> None:
        assert isinstance(self.protocol, ServerProtocol)
        response = self.protocol.accept(request)
        self.protocol.send_response(response)
        if self.protocol.state is State.OPEN:
            self.opened.set_result(None)
        elif not self.opened.done():
            self.opened.set_exception(ConnectionError(f"WebSocket upgrade refused: {response.status_code}"))

    def _answered(self) -> None:
        if self.opened.done():
            return
        exc = self.protocol.handshake_exc
        if exc is not None or self.protocol.state is not State.OPEN:
            self.opened.set_exception(exc or ConnectionError("WebSocket upgrade failed"))
        else:
            self.opened.set_result(None)

    def _send_out(self) -> None:
        transport = self.transport
        if transport is None:
            return
        for data in self.protocol.data_to_send():
            if data:
                transport.write(data)
            elif not transport.is_closing():  # b"": the protocol is done with the connection
                transport.close()

    def _lost(self, error: Exception | None) -> None:
        super()._lost(error)
        if not self.opened.done():
            self.opened.set_exception(error or ConnectionError("connection closed during the upgrade"))


class _WsListener(TcpListener):
    """A listener that also drops, when it closes, the connections still in their upgrade."""

    def __init__(self, on_pipe: PipeHandler) -> None:
        super().__init__(on_pipe)
        self.upgrading: set[WsPipe] = set()
        self.closing = False

    def close(self) -> None:
        self.closing = True
        for pipe in list(self.upgrading):
            pipe.abort()
        super().close()


class WsCarrier(Carrier):
    scheme = "ws"

    async def listen(
        self, host: str, port: int, on_pipe: PipeHandler, credentials: Credentials, handshake_timeout: float
    ) -> Listener:
        loop = asyncio.get_running_loop()
        listener = _WsListener(on_pipe)

        def connection() -> TcpProtocol:
            pipe = WsPipe(ServerProtocol(max_size=_MAX_MESSAGE))
            listener.upgrading.add(pipe)
            pipe.opened.add_done_callback(lambda opened: _upgraded(pipe, opened))
            # An upgrade that does not come in time is dropped (slowloris); then the shared layer
            # watches the handshake of its own.
            loop.call_later(handshake_timeout, _expire, pipe)
            return TcpProtocol(pipe)

        def _upgraded(pipe: WsPipe, opened: asyncio.Future[None]) -> None:
            listener.upgrading.discard(pipe)
            if opened.cancelled() or opened.exception() is not None or listener.closing:
                pipe.abort()
            else:
                listener.accepted(pipe)

        listener.server = await loop.create_server(
            connection,
            host,
            port,
            ssl=credentials.ssl_context(server=True),
            ssl_handshake_timeout=handshake_timeout,
        )
        return listener

    async def dial(self, address: str, credentials: Credentials, handshake_timeout: float) -> Pipe:
        _, host, port = parse_address(address)
        parts = urlsplit(address)
        uri = parse_uri(f"wss://{parts.netloc}{parts.path or '/'}")
        protocol = ClientProtocol(uri, max_size=_MAX_MESSAGE)
        pipe = WsPipe(protocol)
        await asyncio.get_running_loop().create_connection(
            lambda: TcpProtocol(pipe),
            host,
            port,
            ssl=credentials.ssl_context(server=False),
            server_hostname=_SERVER_NAME,
            ssl_handshake_timeout=handshake_timeout,
        )
        protocol.send_request(protocol.connect())
        pipe._send_out()
        try:
            await asyncio.wait_for(asyncio.shield(pipe.opened), handshake_timeout)
        except BaseException:
            pipe.abort()
            raise
        return pipe


def _retrieved(opened: asyncio.Future[None]) -> None:
    """Mark a failed upgrade's exception as seen (a dialer that timed out no longer awaits it)."""
    if not opened.cancelled():
        opened.exception()


def _expire(pipe: WsPipe) -> None:
    if not pipe.opened.done():
        pipe.abort()


CARRIER = WsCarrier()
