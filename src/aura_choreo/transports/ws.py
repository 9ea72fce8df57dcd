"""`ws://host:port[/path]`: the carrier for proxies and browsers, on `websockets` (extra `[websocket]`).

Only what is specific to WebSocket lives here. The bytes inside binary messages are the same
length-prefixed frames as on TCP (a message may hold several frames or part of one: the frame decoder
does not care), so the handshake, limits, keep-alive and reconnection are the shared layer's. Like
every carrier it runs over TLS 1.3 with the device certificates (on the wire that is `wss`); the
WebSocket library's own pings are not used, the shared keep-alive does that job.

The shell is our own, over the library's sans-I/O protocol (`websockets.client.ClientProtocol`,
`websockets.server.ServerProtocol`: the opening handshake, framing, masking, size limits, the closing
handshake) and tcp://'s TLS pipe (`transports.tls_socket.TlsSocketPipe`, on a non-blocking
`ssl.SSLSocket`; dialing and listening are `tcp.py`'s): bytes in, events out, and a message's payload
goes to the connection from the socket's callback, written at once, as on tcp://. (On the library's
own asyncio connection each message woke a receiving task and a sending task: two more turns of the
event loop; on asyncio's TLS protocol each record went through its Python record layer.)
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from aura_choreo.transports.base import DEFAULT_MAX_FRAME
from aura_choreo.transports.pipes import Carrier, Listener, Pipe, PipeHandler, PushPipe, parse_address
from aura_choreo.transports.tcp import TlsListener, dial_tls, listen_tls
from aura_choreo.transports.tls import Credentials
from aura_choreo.transports.tls_socket import TlsSocketPipe

__all__ = ["CARRIER", "WsCarrier", "WsPipe"]

log = logging.getLogger("aura_choreo.ws")

_CHUNK = DEFAULT_MAX_FRAME
_MAX_MESSAGE = 2 * DEFAULT_MAX_FRAME
"""A message is at most one chunk of our frames (plus slack); bigger ones close the connection."""


class WsPipe(PushPipe):
    """A WebSocket connection over a TLS pipe: frames in and out through the sans-I/O `protocol`.

    It is the TLS pipe's receiver (`on_data`/`on_end`, from the socket's callback) and hands the
    messages' payloads on as its own chunks."""

    def __init__(self, protocol: ClientProtocol | ServerProtocol, tls: TlsSocketPipe) -> None:
        super().__init__()
        self.protocol = protocol
        self.tls = tls
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Done when the opening handshake succeeded (its exception: why it failed)."""
        self.opened.add_done_callback(_retrieved)
        tls.push_to(self)

    def peer_certificate(self) -> bytes | None:
        return self.tls.peer_certificate()

    def write(self, data: bytes) -> None:
        if self.protocol.state is not State.OPEN:
            return
        for start in range(0, len(data), _CHUNK):
            self.protocol.send_binary(data[start : start + _CHUNK])
        self._send_out()

    def buffered(self) -> int:
        return self.tls.buffered()

    def must_drain(self) -> bool:
        return self.tls.must_drain()

    async def drain(self) -> None:
        await self.tls.drain()

    def is_closing(self) -> bool:
        return self.tls.is_closing()

    def close(self) -> None:
        if self.protocol.state is State.OPEN:
            self.protocol.send_close()
            self._send_out()
        self.tls.close()

    def abort(self) -> None:
        self.tls.abort()

    async def wait_closed(self) -> None:
        await self.tls.wait_closed()

    # ------------------------------------------------------------------ from the TLS pipe

    def on_data(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        self._take_events()

    def on_end(self, error: Exception | None) -> None:
        if error is None:  # the peer closed its end: the protocol says whether that was clean
            self.protocol.receive_eof()
            self._take_events()
        self._ended(error)
        if not self.opened.done():
            self.opened.set_exception(error or ConnectionError("connection closed during the upgrade"))

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
        tls = self.tls
        for data in self.protocol.data_to_send():
            if data:
                tls.write(data)
            elif not tls.is_closing():  # b"": the protocol is done with the connection
                tls.close()


class _WsListener:
    """tcp.py's TLS listener, whose connections are upgraded before they go to `on_pipe`; closing it
    also drops the connections still in their upgrade."""

    def __init__(self, on_pipe: PipeHandler, handshake_timeout: float) -> None:
        self._on_pipe = on_pipe
        self._timeout = handshake_timeout
        self.tls: TlsListener | None = None
        self._upgrading: set[WsPipe] = set()
        self._closing = False

    async def serve(self, tls: Pipe) -> None:
        """One TLS connection (in a task of the TLS listener): the upgrade, then the shared layer's."""
        assert isinstance(tls, TlsSocketPipe)
        pipe = WsPipe(ServerProtocol(max_size=_MAX_MESSAGE), tls)
        self._upgrading.add(pipe)
        try:
            # An upgrade that does not come in time is dropped (slowloris); then the shared layer
            # watches the handshake of its own.
            async with asyncio.timeout(self._timeout):
                await asyncio.shield(pipe.opened)
        except TimeoutError:
            log.info("WebSocket upgrade not finished in %gs: closed", self._timeout)
            pipe.abort()
            return
        except Exception as exc:  # the upgrade refused or broken: the parser's, the peer's reason
            log.info("WebSocket upgrade failed: %s", exc)
            pipe.abort()
            return
        finally:
            self._upgrading.discard(pipe)
        if self._closing:
            pipe.abort()
            return
        await self._on_pipe(pipe)

    def close(self) -> None:
        self._closing = True
        for pipe in list(self._upgrading):
            pipe.abort()
        if self.tls is not None:
            self.tls.close()

    async def wait_closed(self) -> None:
        if self.tls is not None:
            await self.tls.wait_closed()


class WsCarrier(Carrier):
    scheme = "ws"

    async def listen(
        self, host: str, port: int, on_pipe: PipeHandler, credentials: Credentials, handshake_timeout: float
    ) -> Listener:
        listener = _WsListener(on_pipe, handshake_timeout)
        context = credentials.ssl_context(server=True)
        listener.tls = await listen_tls(host, port, context, listener.serve, handshake_timeout)
        return listener

    async def dial(self, address: str, credentials: Credentials, handshake_timeout: float) -> Pipe:
        _, host, port = parse_address(address)
        parts = urlsplit(address)
        uri = parse_uri(f"wss://{parts.netloc}{parts.path or '/'}")
        tls = await dial_tls(host, port, credentials.ssl_context(server=False), handshake_timeout)
        protocol = ClientProtocol(uri, max_size=_MAX_MESSAGE)
        pipe = WsPipe(protocol, tls)
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


CARRIER = WsCarrier()
