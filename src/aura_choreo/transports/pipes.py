"""What a network carrier provides: byte pipes to peers, over TLS 1.3 (see `transports.carrier`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import urlsplit

from aura_choreo.transports.tls import Credentials

SCHEMES = ("tcp", "ws", "quic", "nats")
"""The schemes a carrier exists for (`nats://` is a broker, `transports.nats_broker`, not a `Carrier`)."""


class Pipe(ABC):
    """A carrier's byte pipe to one peer, TLS already established (what `_Conn` drives)."""

    @abstractmethod
    def peer_certificate(self) -> bytes | None:
        """The peer's TLS leaf certificate (DER), or None."""

    @abstractmethod
    async def read(self) -> bytes:
        """The next bytes from the peer; b"" once the peer has closed."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Queue bytes for the peer (never blocks)."""

    def buffered(self) -> int:
        """Bytes queued and not yet sent (for backpressure)."""
        return 0

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
