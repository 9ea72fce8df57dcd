"""`quic://host:port`: QUIC on `aioquic` (extra `[quic]`), one bidirectional stream per pair of devices.

Only what is specific to QUIC lives here. The stream carries the same length-prefixed frames as TCP, so
the handshake, limits, keep-alive and reconnection are the shared layer's (`transports.carrier`,
`transports.net`); one QUIC connection joins two devices and the dialer opens its one stream.

Authentication is the same as tcp://: TLS 1.3 (QUIC's own) with the device certificates both ways, the
peer's leaf key pinned against the policy before a single frame is read, then the signed JOIN/ACCEPT
of `net.handshake`. Two aioquic details decide how:
- aioquic checks the peer's CertificateVerify (the proof that it holds the leaf's private key) whatever
  `verify_mode` says; its chain and host-name checks would prove nothing here (the anchor's key is
  public, see `net.identity`), so both sides turn them off and the pin decides.
- An aioquic server asks for a client certificate only through a flag of its TLS context that its own
  tests use ("for test purposes only"); `_ask_client_certificate` sets it on every server connection.
  If a release dropped that flag, clients would send no certificate and every connection would be
  refused with "no Ed25519 client certificate" (`peering`): the carrier fails closed, never open.
  Independently of TLS, every session's JOIN and ACCEPT are signed with the device keys over both
  sides' fresh nonces, so a peer that passed TLS still proves its key per session.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable
from typing import Any, cast

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.asyncio.server import QuicServer, serve
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import (
    ConnectionTerminated,
    HandshakeCompleted,
    QuicEvent,
    StreamDataReceived,
    StreamReset,
)
from aioquic.tls import load_pem_x509_certificates
from cryptography.hazmat.primitives.serialization import Encoding

from aura_choreo.transports.pipes import Carrier, Listener, Pipe, PipeHandler, PushPipe, parse_address
from aura_choreo.transports.quic_acks import AckPolicy
from aura_choreo.transports.tls import Credentials

__all__ = ["CARRIER", "QuicCarrier", "QuicPipe"]

_ALPN = ["aura-choreo/1"]
_QUIC_IDLE_TIMEOUT = 60.0
"""QUIC's own idle timer. Liveness is the shared keep-alive's (a PING every few seconds, `PeerTimeout`
after `idle_timeout`), so this only reaps connections nobody closed."""
_LOW_WATER = 1 << 19
"""`QuicPipe.drain` returns once the stream holds at most this many unacknowledged bytes."""


def _configuration(credentials: Credentials, *, client: bool) -> QuicConfiguration:
    leaf, *chain = load_pem_x509_certificates(credentials.chain_pem())
    return QuicConfiguration(
        is_client=client,
        alpn_protocols=_ALPN,
        idle_timeout=_QUIC_IDLE_TIMEOUT,
        verify_mode=ssl.CERT_NONE,  # see the module doc: the pin decides, CertificateVerify is checked
        certificate=leaf,
        certificate_chain=chain,
        private_key=credentials.identity.private_key,
    )


def _ask_client_certificate(connection: QuicConnection) -> None:
    """Make this server connection's TLS ask the client for its certificate (see the module doc)."""
    initialize: Callable[[bytes], None] = connection._initialize

    def initialize_asking(peer_cid: bytes) -> None:
        initialize(peer_cid)
        connection.tls._request_client_certificate = True

    setattr(connection, "_initialize", initialize_asking)  # noqa: B010 - a method, mypy forbids assigning it


class QuicPipe(PushPipe):
    """The one stream of a QUIC connection as a `Pipe`.

    The dialer opens the stream (it speaks first: HELLO); the listener hands the pipe on only then,
    so everything it writes, a refusal included, has a stream to go on. A second stream from the
    peer is not ours to carry: the connection is closed.

    Backpressure: `buffered` is what the stream holds that the peer has not acknowledged yet (sent or
    not: aioquic keeps it for retransmission, and flow control holds back what the peer cannot take);
    `drain` waits until the peer's acknowledgements bring it down to `_LOW_WATER`.
    """

    def __init__(self, protocol: _QuicProtocol, stream_id: int | None) -> None:
        super().__init__()
        self._protocol = protocol
        self._connection = protocol.connection
        self._stream_id = stream_id
        self._fin_sent = False
        self._closing = False
        self._closed = asyncio.Event()
        self._can_write: asyncio.Future[None] | None = None

    def peer_certificate(self) -> bytes | None:
        certificate = getattr(self._connection.tls, "_peer_certificate", None)
        if certificate is None:
            return None
        der: bytes = certificate.public_bytes(Encoding.DER)
        return der

    def write(self, data: bytes) -> None:
        if self._closing or not data or self._stream_id is None:
            return
        protocol = self._protocol
        protocol.acks.piggyback(protocol._loop.time())
        self._connection.send_stream_data(self._stream_id, data)
        protocol.transmit()

    def buffered(self) -> int:
        # aioquic has no public count of a stream's unacknowledged bytes; its sender's buffer is them.
        # Read defensively: a release that renames them loses backpressure, never the connection.
        streams: dict[int, Any] = getattr(self._connection, "_streams", {})
        stream = streams.get(self._stream_id) if self._stream_id is not None else None
        sender = getattr(stream, "sender", None)
        held: int = getattr(sender, "_buffer_stop", 0) - getattr(sender, "_buffer_start", 0)
        return held

    async def drain(self) -> None:
        while self.buffered() > _LOW_WATER and not self._closed.is_set():
            # One future for every waiting sender (many sessions share the stream); `wait` does not
            # cancel it when one of them is cancelled.
            if self._can_write is None:
                self._can_write = asyncio.get_running_loop().create_future()
            await asyncio.wait([self._can_write])

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """Send our end of the stream; the connection closes once the peer has ended its end too."""
        if self._closing:
            return
        self._closing = True
        if self._stream_id is None or self._eof:
            self._finish()
            return
        self._send_fin()

    def abort(self) -> None:
        self._closing = True
        self._finish()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # ------------------------------------------------------------------ events from the protocol

    def _received(self, stream_id: int, data: bytes, end_stream: bool) -> None:
        opened = False
        if self._stream_id is None and stream_id % 4 == 0:  # the dialer's first bidirectional stream
            self._stream_id = stream_id
            opened = True
        elif stream_id != self._stream_id:
            self.abort()
            return
        if data:
            self._arrived(data)
        if end_stream:
            self._ended()
            if self._closing:
                self._finish()
        if opened:
            self._protocol.opened()

    def _acknowledged(self) -> None:
        """Datagrams came in (acknowledgements among them): wake `drain` if the stream has room."""
        waiter = self._can_write
        if waiter is not None and self.buffered() <= _LOW_WATER:
            self._can_write = None
            if not waiter.done():
                waiter.set_result(None)

    def _terminated(self) -> None:
        self._closing = True
        self._ended()
        self._closed.set()
        self._release_writer()
        self._protocol.release()

    def _send_fin(self) -> None:
        if self._fin_sent or self._stream_id is None:
            return
        self._fin_sent = True
        with contextlib.suppress(Exception):  # the stream may already be reset by the peer
            self._connection.send_stream_data(self._stream_id, b"", end_stream=True)
            self._protocol.transmit()

    def _finish(self) -> None:
        """Close the connection now (CONNECTION_CLOSE), end the reader, release the socket."""
        self._ended()
        if not self._closed.is_set():
            with contextlib.suppress(Exception):
                self._protocol.close()
            self._closed.set()
            self._release_writer()
            self._protocol.release()

    def _release_writer(self) -> None:
        waiter, self._can_write = self._can_write, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _QuicProtocol(QuicConnectionProtocol):
    """One QUIC connection: its events go to its `QuicPipe` (aioquic's stream reader/writer adapters
    are not used)."""

    def __init__(
        self,
        connection: QuicConnection,
        *,
        stream_id: int | None = None,
        on_open: Callable[[_QuicProtocol], None] | None = None,
        owns_socket: bool = False,
    ) -> None:
        super().__init__(connection)
        self.connection = connection
        self.acks = AckPolicy(connection)
        self.pipe = QuicPipe(self, stream_id)
        self.is_open = stream_id is not None
        self._on_open = on_open
        self._owns_socket = owns_socket
        # The dialer waits on this, not on aioquic's `wait_connected`: that shields its own future, so
        # a dial that timed out left it behind, and the connection's end (its close timer, seconds
        # later) set ConnectionError on it with nobody to retrieve it: asyncio logged "Future exception
        # was never retrieved" once per failed dial (every redial of a peer that had exited). This one
        # is cancelled with the dial that gave up, and it ends in a value, never an exception.
        self.handshake: asyncio.Future[ConnectionTerminated | None] = self._loop.create_future()
        self.expiry: asyncio.TimerHandle | None = None
        """The listener's deadline for the stream to open (cancelled once it did or the pipe closed)."""

    def opened(self) -> None:
        """The peer opened the stream (listener side): the pipe is ready for its owner."""
        self.is_open = True
        self._cancel_expiry()
        if self._on_open is not None:
            self._on_open(self)

    def datagram_received(self, data: bytes | str, addr: Any) -> None:
        # aioquic's own method with our acknowledgement policy (`quic_acks`) around `receive_datagram`.
        self.acks.receive(cast(bytes, data), addr, self._loop.time())
        self._process_events()
        self.transmit()
        self.pipe._acknowledged()

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, StreamDataReceived):
            self.pipe._received(event.stream_id, event.data, event.end_stream)
        elif isinstance(event, ConnectionTerminated):
            self._handshake_ended(event)
            self.pipe._terminated()
        elif isinstance(event, HandshakeCompleted):
            self._handshake_ended(None)
        elif isinstance(event, StreamReset):
            self.pipe.abort()

    def _handshake_ended(self, terminated: ConnectionTerminated | None) -> None:
        if not self.handshake.done():  # cancelled by a dial that gave up, or ended already
            self.handshake.set_result(terminated)

    def release(self) -> None:
        """Close the UDP socket if this connection has its own (the dialer's)."""
        self._cancel_expiry()
        if self._owns_socket and self._transport is not None:
            self._transport.close()

    def _cancel_expiry(self) -> None:
        # A pending deadline would keep the closed connection (its buffers, keys, packet spaces)
        # alive until `handshake_timeout`.
        if self.expiry is not None:
            self.expiry.cancel()
            self.expiry = None


class _QuicListener:
    """A QUIC server: each connection whose TLS handshake completes and whose dialer opens its stream
    becomes a pipe for `on_pipe`."""

    def __init__(self, on_pipe: PipeHandler, handshake_timeout: float) -> None:
        self._on_pipe = on_pipe
        self._handshake_timeout = handshake_timeout
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self.server: QuicServer | None = None

    def protocol(self, connection: QuicConnection, stream_handler: Any = None) -> _QuicProtocol:
        """aioquic's `create_protocol` hook: called for every new connection attempt."""
        _ask_client_certificate(connection)
        protocol = _QuicProtocol(connection, on_open=self._accepted)
        # A handshake or a stream that does not come in time is dropped (aioquic would keep it until
        # idle); from then on the connection's owner watches its handshake (`handshake_timeout`).
        loop = asyncio.get_running_loop()
        protocol.expiry = loop.call_later(self._handshake_timeout, self._expire, protocol)
        return protocol

    @staticmethod
    def _expire(protocol: _QuicProtocol) -> None:
        if not protocol.is_open:
            protocol.pipe.abort()

    def _accepted(self, protocol: _QuicProtocol) -> None:
        if self._closing:
            protocol.pipe.abort()
            return
        task = asyncio.get_running_loop().create_task(self._serve(protocol.pipe))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, pipe: QuicPipe) -> None:
        await self._on_pipe(pipe)

    def close(self) -> None:
        """Stop accepting; the connections already accepted are closed by their owner."""
        self._closing = True

    async def wait_closed(self) -> None:
        try:
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
        finally:
            if self.server is not None:
                self.server.close()
                self.server = None


class QuicCarrier(Carrier):
    scheme = "quic"

    async def listen(
        self, host: str, port: int, on_pipe: PipeHandler, credentials: Credentials, handshake_timeout: float
    ) -> Listener:
        listener = _QuicListener(on_pipe, handshake_timeout)
        listener.server = await serve(
            host,
            port,
            configuration=_configuration(credentials, client=False),
            create_protocol=listener.protocol,
        )
        return listener

    async def dial(self, address: str, credentials: Credentials, handshake_timeout: float) -> Pipe:
        _, host, port = parse_address(address)
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        family, *_, peer = infos[0]
        connection = QuicConnection(configuration=_configuration(credentials, client=True))
        stream_id = connection.get_next_available_stream_id()
        local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
        _, protocol = await loop.create_datagram_endpoint(
            lambda: _QuicProtocol(connection, stream_id=stream_id, owns_socket=True),
            local_addr=local,
            family=family,
        )
        try:
            protocol.connect(peer)
            terminated = await asyncio.wait_for(protocol.handshake, handshake_timeout)
        except BaseException:
            protocol.pipe.abort()
            raise
        if terminated is not None:
            reason = f": {terminated.reason_phrase}" if terminated.reason_phrase else ""
            raise ConnectionError(f"{address}: the QUIC handshake failed{reason}")
        return protocol.pipe


CARRIER = QuicCarrier()
