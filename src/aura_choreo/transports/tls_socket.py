"""TLS 1.3 on a non-blocking `ssl.SSLSocket`, driven by the event loop's readiness callbacks.

Why not asyncio's own TLS (`create_connection(ssl=...)`): there the record layer is Python
(`asyncio.sslproto` moves every chunk through two `MemoryBIO`s and a state machine), which cost more per
message than the rest of the runtime's network path (bench/bench_tcp.py). Here OpenSSL reads and
writes the socket itself: one readiness callback takes a record's plaintext to the pipe's receiver,
and a write goes straight to `SSLSocket.write`.

What non-blocking TLS asks of its caller, and where it is done:
- the handshake repeats `do_handshake` on `SSLWantReadError`/`SSLWantWriteError` (`_handshake`);
- a write that raised `SSLWantWriteError` must be retried with the same bytes (OpenSSL has already
  sealed part of them), so a queue keeps it at its head and a writer callback retries it (`_writable`);
- bytes OpenSSL has decrypted but not handed out (`pending()`) do not make the socket readable: each
  read takes them too (`_readable`);
- the end (EOF, close_notify, an error) reaches the receiver once (`PushPipe._ended`).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
from collections import deque
from typing import Any

from aura_choreo.transports.pipes import HIGH_WATER, PipeHandler, PushPipe

log = logging.getLogger("aura_choreo.tcp")

__all__ = ["TlsSocketListener", "TlsSocketPipe", "dial_tls", "listen_tls", "secure"]

_RECORD = 16384
"""The most plaintext one TLS record holds: a read returns at most one record."""
_READ = 65536
_LOW_WATER = HIGH_WATER // 4
_BACKLOG = 128
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class TlsSocketPipe(PushPipe):
    """An established TLS connection as a `Pipe`; reading starts at once (chunks wait for `push_to`)."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        super().__init__()
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._fd = sock.fileno()
        self._peer_certificate = sock.getpeercert(binary_form=True)
        # OpenSSL's own object (`_ssl._SSLSocket`, what `SSLSocket.read`/`write` call after a Python
        # check that the socket is open): bound once, called per message; `_teardown` stops the calls
        # before the socket closes. Its `read` raises `SSLEOFError` where the wrapper returns b"".
        tls = getattr(sock, "_sslobj", None) or sock
        self._read = tls.read
        self._write = tls.write
        self._pending = tls.pending
        self._queue: deque[bytes] = deque()
        """Bytes OpenSSL has not taken yet, in order; with `_retry`, the head is a refused write."""
        self._queued = 0
        self._retry = False
        self._writing = False
        self._closing = False
        self._done = False
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self._can_write: asyncio.Future[None] | None = None
        self._loop.add_reader(self._fd, self._readable)
        if self._pending():  # decrypted during the handshake: the socket will not say so
            self._loop.call_soon(self._readable)

    def peer_certificate(self) -> bytes | None:
        return self._peer_certificate

    # ------------------------------------------------------------------ reading

    def _readable(self) -> None:
        if self._done:
            return
        end: Exception | bool = False  # after the data: True, the peer closed; an error, it failed
        try:
            data = self._read(_READ)
            # A read returns one record at most, so a shorter one than asked for emptied its record
            # (nothing `pending()`) and is usually all there is (one message): asking again would cost
            # a failed read per message. A full record is a burst, a full read a record bigger than
            # the read: take what OpenSSL holds and what the socket has now, until it has nothing.
            if len(data) >= _RECORD or len(data) == _READ:
                data, end = self._read_more(data)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return  # part of a record, or a handshake message (a session ticket): nothing yet
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            data, end = b"", True
        except OSError as exc:  # ssl.SSLError included: a bad record, a reset
            data, end = b"", exc
        if data:
            receiver = self._receiver
            if receiver is not None and not self._eof:
                receiver.on_data(data)  # what `_arrived` does, a call less per message
            else:
                self._arrived(data)
        elif not end:
            end = True  # b"": the peer's close_notify
        if end is True:
            self._peer_closed()
        elif end:
            self._teardown(end)

    def _read_more(self, first: bytes) -> tuple[bytes, Exception | bool]:
        chunks = [first]
        end: Exception | bool = False
        try:
            while more := self._read(_READ):
                chunks.append(more)
            end = True
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            end = True
        except OSError as exc:
            end = exc
        return b"".join(chunks), end

    def _peer_closed(self) -> None:
        self._loop.remove_reader(self._fd)  # EOF stays readable: do not spin until the close is done
        self._ended(None)
        self.close()

    # ------------------------------------------------------------------ writing

    def write(self, data: bytes) -> None:
        if self._closing:
            return
        if self._queue:  # behind bytes still waiting for the socket
            self._queue.append(data)
            self._queued += len(data)
            return
        try:
            sent = self._write(data)
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
            self._retry = True  # the same bytes again once the socket has room
            sent = 0
        except OSError as exc:
            self._teardown(exc)
            return
        if sent < len(data):
            rest = data if sent == 0 else data[sent:]
            self._queue.append(rest)
            self._queued += len(rest)
            self._writing = True
            self._loop.add_writer(self._fd, self._writable)

    def _writable(self) -> None:
        queue = self._queue
        while queue:
            if not self._retry and len(queue) > 1:  # one write (fewer records) for what has waited
                joined = b"".join(queue)
                queue.clear()
                queue.append(joined)
            data = queue[0]
            try:
                sent = self._write(data)
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                self._retry = True
                return
            except OSError as exc:
                self._teardown(exc)
                return
            self._retry = False
            self._queued -= sent
            if sent < len(data):
                queue[0] = data[sent:]
            else:
                queue.popleft()
            if self._queued <= _LOW_WATER:
                self._resume()
        self._writing = False
        self._loop.remove_writer(self._fd)
        if self._closing:
            self._shutdown()

    def buffered(self) -> int:
        return self._queued

    def must_drain(self) -> bool:
        return self._queued > HIGH_WATER

    async def drain(self) -> None:
        if self._queued > HIGH_WATER and not self._done:
            if self._can_write is None:
                self._can_write = self._loop.create_future()
            # `wait`, not `await`: a cancelled writer must not cancel the future other writers share.
            await asyncio.wait([self._can_write])

    def _resume(self) -> None:
        waiter, self._can_write = self._can_write, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ------------------------------------------------------------------ closing

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if not self._queue:
            self._shutdown()
        # else `_writable` shuts down once the queue is out

    def abort(self) -> None:
        self._teardown(None)

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    def _shutdown(self) -> None:
        """Send close_notify (as far as the socket takes it at once), then close."""
        if self._done:
            return
        try:
            self._sock.unwrap()  # raises SSLWantReadError: the peer's close_notify is not awaited
        except (OSError, ValueError):
            pass
        self._teardown(None)

    def _teardown(self, error: Exception | None) -> None:
        """Release the socket now; the end reaches the receiver in the next turn (never from inside
        one of its own calls: a `Conn` that aborts while handling data must not be re-entered)."""
        if self._done:
            return
        self._done = self._closing = True
        self._loop.remove_reader(self._fd)
        if self._writing:
            self._writing = False
            self._loop.remove_writer(self._fd)
        self._queue.clear()
        self._queued = 0
        self._sock.close()
        self._loop.call_soon(self._lost, error)

    def _lost(self, error: Exception | None) -> None:
        self._ended(error)
        self._resume()
        if not self._closed.done():
            self._closed.set_result(None)


# ---------------------------------------------------------------------- handshakes


async def _handshake(sock: ssl.SSLSocket) -> None:
    loop = asyncio.get_running_loop()
    fd = sock.fileno()
    while True:
        try:
            sock.do_handshake()
            return
        except ssl.SSLWantReadError:
            add, remove = loop.add_reader, loop.remove_reader
        except ssl.SSLWantWriteError:
            add, remove = loop.add_writer, loop.remove_writer
        ready: asyncio.Future[None] = loop.create_future()
        add(fd, _wake, ready)
        try:
            await ready
        finally:
            remove(fd)


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


async def secure(
    sock: socket.socket, context: ssl.SSLContext, *, server_side: bool, timeout: float
) -> TlsSocketPipe:
    """The TLS handshake over connected `sock` within `timeout` (it is closed if that fails)."""
    try:
        tls = context.wrap_socket(sock, server_side=server_side, do_handshake_on_connect=False)
    except BaseException:
        sock.close()
        raise
    try:
        async with asyncio.timeout(timeout):
            await _handshake(tls)
        return TlsSocketPipe(tls)
    except BaseException:
        tls.close()
        raise


def _nonblocking(sock: socket.socket) -> socket.socket:
    sock.setblocking(False)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


async def _addresses(host: str, port: int, flags: int = 0) -> list[tuple[int, int, int, tuple[Any, ...]]]:
    try:  # an IP address needs no resolver thread
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=flags | socket.AI_NUMERICHOST)
    except socket.gaierror:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=flags
        )
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


class TlsSocketListener:
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
) -> TlsSocketListener:
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
    return TlsSocketListener(sockets, context, on_pipe, handshake_timeout)

