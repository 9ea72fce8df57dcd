"""`ws://host:port[/path]`: the carrier for proxies and browsers, on `websockets` (extra `[websocket]`).

Only what is specific to WebSocket lives here. The bytes inside binary messages are the same
length-prefixed frames as on TCP (a message may hold several frames or part of one: the frame decoder
does not care), so the handshake, limits, keep-alive and reconnection are the shared layer's. Like
every carrier it runs over TLS 1.3 with the device certificates (on the wire that is `wss`); WebSocket
pings are answered but never sent, the shared keep-alive does that job.

The shell is our own, on tcp://'s TLS pipe (`transports.tls_socket.TlsSocketPipe`, a non-blocking
`ssl.SSLSocket`; dialing and listening are `tcp.py`'s). The opening handshake (the HTTP upgrade) is
`websockets`' sans-I/O protocol (`websockets.client.ClientProtocol`, `websockets.server.ServerProtocol`);
every frame after it is `transports.ws_frames`' (its generator-based parser cost ~35 us a message).
A message's payload goes to the connection from the socket's callback and a write goes out at once,
as on tcp://. Every close says why: a status code (1000 normal, 1002 protocol error, 1003 text, 1009
too big) and, for an error, a log line.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from aura_choreo.transports.base import DEFAULT_MAX_FRAME
from aura_choreo.transports.pipes import Carrier, Listener, Pipe, PipeHandler, PushPipe, parse_address
from aura_choreo.transports.tcp import TlsListener, dial_tls, listen_tls
from aura_choreo.transports.tls import Credentials
from aura_choreo.transports.tls_socket import TlsSocketPipe
from aura_choreo.transports.ws_frames import (
    BINARY,
    CLOSE,
    PING,
    PONG,
    TEXT,
    CloseCode,
    FrameReader,
    FrameWriter,
    WsError,
    close_payload,
    parse_close,
)

__all__ = ["CARRIER", "WsCarrier", "WsPipe"]

log = logging.getLogger("aura_choreo.ws")

_CHUNK = DEFAULT_MAX_FRAME
_MAX_MESSAGE = 2 * DEFAULT_MAX_FRAME
"""A message is at most one chunk of our frames (plus slack); bigger ones close the connection (1009)."""
_END_OF_HEAD = b"\r\n\r\n"


class WsPipe(PushPipe):
    """A WebSocket connection over a TLS pipe: the upgrade through the sans-I/O `protocol`, then frames
    through `ws_frames`.

    It is the TLS pipe's receiver (`on_data`/`on_end`, from the socket's callback) and hands the
    messages' payloads on as its own chunks."""

    def __init__(self, protocol: ClientProtocol | ServerProtocol, tls: TlsSocketPipe) -> None:
        super().__init__()
        self.protocol = protocol
        self.tls = tls
        client = isinstance(protocol, ClientProtocol)
        self._reader = FrameReader(masked=not client, max_size=_MAX_MESSAGE)
        self._writer = FrameWriter(masked=client)
        self._open = False
        """After the upgrade, until a close frame went out: binary messages may be sent."""
        self._upgraded = False
        self._tail = b""
        """The upgrade's last bytes seen (its end, a blank line, may span two chunks)."""
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Done when the opening handshake succeeded (its exception: why it failed)."""
        self.opened.add_done_callback(_retrieved)
        tls.push_to(self)

    def peer_certificate(self) -> bytes | None:
        return self.tls.peer_certificate()

    def write(self, data: bytes) -> None:
        if not self._open:
            return
        if len(data) <= _CHUNK:
            self.tls.write(self._writer.binary(data))
            return
        for start in range(0, len(data), _CHUNK):
            self.tls.write(self._writer.binary(data[start : start + _CHUNK]))

    def buffered(self) -> int:
        return self.tls.buffered()

    def must_drain(self) -> bool:
        return self.tls.must_drain()

    async def drain(self) -> None:
        await self.tls.drain()

    def is_closing(self) -> bool:
        return self.tls.is_closing()

    def close(self) -> None:
        self._send_close(CloseCode.NORMAL)
        self.tls.close()

    def abort(self) -> None:
        self._open = False
        self.tls.abort()

    async def wait_closed(self) -> None:
        await self.tls.wait_closed()

    # ------------------------------------------------------------------ from the TLS pipe

    def on_data(self, data: bytes) -> None:
        if self._eof:  # after a close frame or an error: what else comes is not read
            return
        if not self._upgraded:
            data = self._upgrade(data)
            if not data:
                return
        try:
            events = self._reader.feed(data)
        except WsError as exc:
            self._fail(exc)
            return
        for opcode, payload in events:
            if opcode == BINARY:
                self._arrived(payload)
            elif not self._control(opcode, payload):
                return

    def on_end(self, error: Exception | None) -> None:
        if error is None and not self._upgraded:  # the protocol says whether the upgrade was cut short
            self.protocol.receive_eof()
            self._take_upgrade()
        elif error is None and self._reader.buffered:
            error = ConnectionError(f"peer closed mid-message ({self._reader.buffered} bytes)")
        self._open = False
        self._ended(error)
        if not self.opened.done():
            self.opened.set_exception(error or ConnectionError("connection closed during the upgrade"))

    def _control(self, opcode: int, payload: bytes) -> bool:
        """Answer a control frame or a text message; False when the connection ends with it."""
        if opcode == PING:
            if self._open:
                self.tls.write(self._writer.frame(PONG, payload))
        elif opcode == CLOSE:  # echo its code (RFC 6455 §5.5.1), then the peer or we close the socket
            code, _ = parse_close(payload)
            self._send_close(code)
            self._ended(None)
            self.tls.close()
            return False
        elif opcode == TEXT:
            self._fail(WsError(CloseCode.UNSUPPORTED_DATA, "text message on a binary-only connection"))
            return False
        return True  # a pong: nothing to do (we send no pings)

    def _fail(self, exc: WsError) -> None:
        """Close with `exc`'s code after input that breaks the protocol or our limits; say so."""
        log.warning("WebSocket connection closed with %d: %s", exc.code, exc)
        self._send_close(exc.code, str(exc))
        self.tls.close()
        self._ended(exc)
        if not self.opened.done():
            self.opened.set_exception(exc)

    def _send_close(self, code: int, reason: str = "") -> None:
        if self._open:
            self._open = False
            self.tls.write(self._writer.frame(CLOSE, close_payload(code, reason)))

    # ------------------------------------------------------------------ the opening handshake

    def _upgrade(self, data: bytes) -> bytes:
        """Give the upgrade's bytes to the protocol; what follows its end is frames (returned)."""
        seen = self._tail + data
        end = seen.find(_END_OF_HEAD)
        if end < 0:
            self._tail = seen[-3:]
            self.protocol.receive_data(data)
            self._take_upgrade()
            return b""
        cut = end + len(_END_OF_HEAD) - len(self._tail)
        self.protocol.receive_data(data[:cut])
        self._take_upgrade()
        return data[cut:] if self._upgraded else b""

    def _take_upgrade(self) -> None:
        for event in self.protocol.events_received():
            if isinstance(event, Request):
                self._answer(event)
            elif isinstance(event, Response):
                self._answered()
        self._send_out()
        exc = self.protocol.parser_exc
        if exc is not None and not self.opened.done():  # malformed: the protocol has queued its answer
            self._ended(exc)
            self.opened.set_exception(exc)

    def _answer(self, request: Request) -> None:
        assert isinstance(self.protocol, ServerProtocol)
        response = self.protocol.accept(request)
        self.protocol.send_response(response)
        if self.protocol.state is State.OPEN:
            self._opened()
        elif not self.opened.done():
            self.opened.set_exception(ConnectionError(f"WebSocket upgrade refused: {response.status_code}"))

    def _answered(self) -> None:
        if self.opened.done():
            return
        exc = self.protocol.handshake_exc
        if exc is not None or self.protocol.state is not State.OPEN:
            self.opened.set_exception(exc or ConnectionError("WebSocket upgrade failed"))
        else:
            self._opened()

    def _opened(self) -> None:
        self._upgraded = self._open = True
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
