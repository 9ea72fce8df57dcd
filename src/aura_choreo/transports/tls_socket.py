"""TLS 1.3 on a non-blocking `ssl.SSLSocket`, driven by the event loop's readiness callbacks.

Why not asyncio's own TLS (`create_connection(ssl=...)`): there the record layer is Python
(`asyncio.sslproto` moves every chunk through two `MemoryBIO`s and a state machine), which cost more per
message than the rest of the runtime's network path (bench/bench_tcp.py). Here OpenSSL reads and
writes the socket itself: one readiness callback takes a record's plaintext to the pipe's receiver,
and a write goes straight to `SSLSocket.write`.

Why not OpenSSL on memory buffers (`ssl.MemoryBIO`, our own `recv`/`send`): OpenSSL reads a record
from a socket with two system calls (header, then body) and Python cannot turn on its read-ahead, so
one `recv` per readable socket saves 2 of a round trip's 10 system calls. Tried (2026-12, issue 13):
each message then takes more calls from Python (recv, feed, unseal; seal, take out, send, each of
them releasing the GIL), and the network transport's round trip cost ~30k instructions more (158k
against 127k, cachegrind) with no gain in CPU time measured in alternating runs.

What non-blocking TLS asks of its caller, and where it is done:
- the handshake repeats `do_handshake` on `SSLWantReadError`/`SSLWantWriteError` (`_handshake`);
- a write that raised `SSLWantWriteError` must be retried with the same bytes (OpenSSL has already
  sealed part of them), so a queue keeps it at its head and a writer callback retries it (`_writable`);
- bytes OpenSSL has decrypted but not handed out (`pending()`) do not make the socket readable: each
  read takes them too (`_readable`);
- the end (EOF, close_notify, an error) reaches the receiver once (`PushPipe._ended`).

Sockets are `tcp.py`'s (dialing, listening, the accept loop); this module starts at a connected one.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque

from aura_choreo.transports.pipes import HIGH_WATER, PushPipe

__all__ = ["TlsSocketPipe", "secure"]

_RECORD = 16384
"""The most plaintext one TLS record holds: a read returns at most one record."""
_READ = 65536
_LOW_WATER = HIGH_WATER // 4


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
