"""`tcp://host:port`: TLS 1.3 over TCP, the default carrier (SPEC §5.6).

Only what is specific to TCP lives here: listening and dialing on raw sockets, whose TLS pipe is
`transports.tls_socket`'s; connections, authentication, sessions and reconnection are
`transports.carrier`'s, the decisions `transports.net`'s. The transport itself is
`transports.carrier.TcpTransport` (its carrier chosen per address scheme). `ws.py`'s WebSocket runs
on the same dialing, listening and TLS pipe.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
from typing import Any

from aura_choreo.transports.pipes import Carrier, Listener, Pipe, PipeHandler, parse_address
from aura_choreo.transports.tls import Credentials
from aura_choreo.transports.tls_socket import TlsSocketPipe, secure

__all__ = [
    "CARRIER",
    "TcpCarrier",
    "TlsListener",
    "dial_tls",
    "listen_tls",
    "parse_tcp_address",
]

log = logging.getLogger("aura_choreo.tcp")


def parse_tcp_address(address: str) -> tuple[str, int]:
    """(host, port) of `tcp://host:port`; `ValueError` says what is wrong."""
    scheme, host, port = parse_address(address)
    if scheme != "tcp":
        raise ValueError(f"`{address}`: expected tcp://host:port")
    return host, port


# ---------------------------------------------------------------------- TLS on raw sockets

_BACKLOG = 128
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


def _nonblocking(sock: socket.socket) -> socket.socket:
    sock.setblocking(False)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


async def _addresses(host: str, port: int, flags: int = 0) -> list[tuple[int, int, int, tuple[Any, ...]]]:
    try:  # an IP address needs no resolver thread
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=flags | socket.AI_NUMERICHOST)
    except socket.gaierror:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=flags)
    return [(family, kind, proto, address) for family, kind, proto, _, address in infos]


async def dial_tls(host: str, port: int, context: ssl.SSLContext, handshake_timeout: float) -> TlsSocketPipe:
    """Connect to (host, port) (each of its addresses in turn) and run the client's TLS handshake."""
    loop = asyncio.get_running_loop()
    errors: list[OSError] = []
    for family, kind, proto, address in await _addresses(host, port):
        sock = socket.socket(family, kind, proto)
        try:
            await loop.sock_connect(_nonblocking(sock), address)
        except OSError as exc:
            sock.close()
            errors.append(exc)
            continue
        except BaseException:
            sock.close()
            raise
        return await secure(sock, context, server_side=False, timeout=handshake_timeout)
    if len(errors) == 1:
        raise errors[0]
    raise OSError(f"cannot connect to {host}:{port}: {'; '.join(map(str, errors)) or 'no address'}")


class TlsListener:
    """Listening sockets whose connections, once through the TLS handshake, go to `on_pipe` (each in a
    task this listener owns); a handshake that fails or is late closes its connection with a log line."""

    def __init__(
        self, sockets: list[socket.socket], context: ssl.SSLContext, on_pipe: PipeHandler, timeout: float
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._sockets = sockets
        self._context = context
        self._on_pipe = on_pipe
        self._timeout = timeout
        self._handshaking: set[asyncio.Task[None]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        for sock in sockets:
            self._loop.add_reader(sock.fileno(), self._accept, sock)

    def _accept(self, listening: socket.socket) -> None:
        for _ in range(_BACKLOG):
            try:
                sock, peer = listening.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_RESOURCES:  # a flood: stop accepting for a moment
                    log.warning("accepting connections paused for 1s: %s", exc.strerror or exc)
                    self._loop.remove_reader(listening.fileno())
                    self._loop.call_later(1.0, self._resume, listening)
                    return
                continue  # the peer gave up before we accepted (ECONNABORTED and the like)
            task = self._loop.create_task(self._serve(_nonblocking(sock), peer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _resume(self, listening: socket.socket) -> None:
        if not self._closed:
            self._loop.add_reader(listening.fileno(), self._accept, listening)

    async def _serve(self, sock: socket.socket, peer: object) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handshaking.add(task)  # `close` cancels these; the others end with their connection
        try:
            pipe = await secure(sock, self._context, server_side=True, timeout=self._timeout)
        except TimeoutError:
            log.info("TLS handshake from %s not finished in %gs: closed", peer, self._timeout)
            return
        except OSError as exc:  # ssl.SSLError included: garbage, a wrong protocol, no certificate
            log.info("TLS handshake from %s failed: %s", peer, exc)
            return
        finally:
            self._handshaking.discard(task)
        await self._on_pipe(pipe)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for sock in self._sockets:
            self._loop.remove_reader(sock.fileno())
            sock.close()
        for task in list(self._handshaking):
            task.cancel()

    async def wait_closed(self) -> None:
        if self._tasks:  # each ends once its connection is closed (the transport closes them first)
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def listen_tls(
    host: str, port: int, context: ssl.SSLContext, on_pipe: PipeHandler, handshake_timeout: float
) -> TlsListener:
    """Listen on every address of `host` (as asyncio's `create_server` does); `OSError` if one cannot
    be bound."""
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, address in await _addresses(host, port, socket.AI_PASSIVE):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # its own address only (the IPv4 one has its own socket)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(_BACKLOG)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return TlsListener(sockets, context, on_pipe, handshake_timeout)


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
