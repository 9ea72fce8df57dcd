"""What a network carrier provides: byte pipes to peers, over TLS 1.3 (see `transports.carrier`)."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import urlsplit

from aura_choreo.transports.tls import Credentials

SCHEMES = ("tcp", "ws", "quic", "nats")
HIGH_WATER = 1 << 20
"""Queued bytes past which a writer waits for `Pipe.drain` (unless the carrier says otherwise)."""
"""The schemes a carrier exists for (`nats://` is a broker, `transports.nats_broker`, not a `Carrier`)."""


class Receiver(Protocol):
    """Who takes a pipe's bytes as they arrive (`Pipe.push_to`): `transports.connection.Conn`."""

    def on_data(self, data: bytes) -> None:
        """The next bytes from the peer (called from the carrier's callback: never blocks)."""

    def on_end(self, error: Exception | None) -> None:
        """The peer closed (`error` None) or the connection failed; called once, after the last data."""


class Pipe(ABC):
    """A carrier's byte pipe to one peer, TLS already established (what `Conn` drives)."""

    @abstractmethod
    def peer_certificate(self) -> bytes | None:
        """The peer's TLS leaf certificate (DER), or None."""

    @abstractmethod
    async def read(self) -> bytes:
        """The next bytes from the peer; b"" once the peer has closed."""

    def push_to(self, receiver: Receiver) -> bool:
        """Hand every chunk to `receiver` from the carrier's own callback instead of through `read`.

        Returns False if this carrier can only be read. Pushing saves a task wake-up (a turn of the
        event loop) per chunk: the frames are decoded and delivered in the turn the bytes arrive.
        """
        return False

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Queue bytes for the peer (never blocks); once the pipe is closing, they are dropped."""

    def buffered(self) -> int:
        """Bytes queued and not yet sent (for backpressure)."""
        return 0

    def must_drain(self) -> bool:
        """Whether a writer should await `drain` before writing more (asked after every message)."""
        return self.buffered() > HIGH_WATER

    async def drain(self) -> None:  # noqa: B027 - carriers without a send buffer need nothing
        """Wait until the queue is below the carrier's limit."""

    @abstractmethod
    def is_closing(self) -> bool: ...

    @abstractmethod
    def close(self) -> None:
        """Close after sending what is queued."""

    @abstractmethod
    def abort(self) -> None:
        """Close now, dropping what is queued."""

    @abstractmethod
    async def wait_closed(self) -> None: ...


class PushPipe(Pipe):
    """A pipe whose carrier is called back with each chunk (`_arrived`) and at the end (`_ended`):
    its owner takes the chunks as they come (`push_to`) or reads them (`read`)."""

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._eof = False
        self._error: Exception | None = None
        self._receiver: Receiver | None = None

    def push_to(self, receiver: Receiver) -> bool:
        self._receiver = receiver
        if self._chunks:  # what came before the owner was ready
            data = b"".join(self._chunks)
            self._chunks.clear()
            receiver.on_data(data)
        if self._eof:
            receiver.on_end(self._error)
        return True

    async def read(self) -> bytes:
        while not self._chunks:
            if self._eof:
                if self._error is not None:
                    raise self._error
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if len(self._chunks) == 1:
            return self._chunks.popleft()
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data

    def _arrived(self, data: bytes) -> None:
        """The carrier received `data` from the peer."""
        if self._eof or not data:
            return
        receiver = self._receiver
        if receiver is not None:
            receiver.on_data(data)
        else:
            self._chunks.append(data)
            self._wake()

    def _ended(self, error: Exception | None = None) -> None:
        """The peer closed its end (`error` None) or the connection failed; later calls change nothing."""
        if self._eof:
            return
        self._eof = True
        self._error = error
        if self._receiver is not None:
            self._receiver.on_end(error)
        else:
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Listener(Protocol):
    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


PipeHandler = Callable[[Pipe], Awaitable[None]]


class Carrier(ABC):
    """What is specific to one scheme: listening and dialing with TLS 1.3, yielding `Pipe`s.

    Both sides present the certificate of `credentials` and require the peer's; the carrier does not
    judge the peer's certificate (its owner pins `Pipe.peer_certificate` against the policy).
    """

    scheme: str

    @abstractmethod
    async def listen(
        self, host: str, port: int, on_pipe: PipeHandler, credentials: Credentials, handshake_timeout: float
    ) -> Listener: ...

    @abstractmethod
    async def dial(self, address: str, credentials: Credentials, handshake_timeout: float) -> Pipe: ...


def parse_address(address: str) -> tuple[str, str, int]:
    """(scheme, host, port) of `scheme://host:port[/path]`; `ValueError` says what is wrong."""
    parts = urlsplit(address)
    if parts.scheme not in SCHEMES:
        raise ValueError(
            f"`{address}`: expected tcp://host:port, ws://host:port, quic://host:port or nats://host:port"
        )
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise ValueError(f"`{address}`: expected {parts.scheme}://host:port with a host and a port")
    return parts.scheme, parts.hostname, port
