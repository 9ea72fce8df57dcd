"""The one transport interface every transport implements (in-memory, simulated, TCP, ...).

A transport moves opaque frames (bytes) between addresses. Endpoints do not talk to it directly: the
session layer (`aura_choreo.runtime.node.Node`) attaches once per address and does everything above
raw frames: envelopes, per (sender, receiver) FIFO sequencing, acknowledgements, retransmission,
de-duplication and demultiplexing by session id.

Contract for implementers:
- `attach(address, on_frame)` registers `address` and returns the `Link` it sends with. Every frame
  that arrives for `address` is handed to `on_frame(from_address, frame)`, on the event loop, one call
  at a time (possibly from inside another link's `send`, as the in-memory transport does). `on_frame`
  never blocks, never raises and never sends.
- A transport MAY drop, duplicate, delay and reorder frames (the simulated one does). If it never does
  (every frame delivered exactly once, in send order per (sender, receiver)), it sets `reliable = True`
  and the session layer skips acknowledgements and retransmission.
- Frames larger than `max_frame` bytes are refused with `TransportError` by `Link.send`.
- Time: only asyncio primitives (`asyncio.sleep`, `loop.call_later`, `loop.time()`), so a virtual-time
  event loop can drive a whole run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Protocol

from aura_choreo.errors import TransportError

Address = str
"""Where a device listens: an opaque string (`"coordinator"`, `"tcp://10.0.0.2:7000"`)."""

FrameHandler = Callable[[Address, bytes], None]
"""Called with (sender address, frame) for every frame that arrives at an attached address."""

DEFAULT_MAX_FRAME = 1 << 20
"""1 MiB: the default size limit of a frame (SPEC §5.1)."""


class Link(ABC):
    """One attached address: sends frames from it; arriving frames go to its `FrameHandler`."""

    @property
    @abstractmethod
    def address(self) -> Address:
        """The address this link is attached at."""

    @abstractmethod
    def send(self, to: Address, frame: bytes) -> Awaitable[None]:
        """Hand `frame` to the transport for `to` (await the result).

        The awaitable finishes once the transport has accepted the frame (not when it is delivered).
        `TransportError` if the link is closed or the frame is too large (raised by the call or by the
        await: callers await at once); an unknown destination is not an error for transports that may
        deliver later. Most links are `async def`; one may also write at once and return something
        already done (the network link, once per message).
        """

    @abstractmethod
    def close(self) -> None:
        """Detach: no more frames are delivered to or sent from this link. Idempotent."""

    @property
    @abstractmethod
    def closed(self) -> bool:
        """Whether `close` was called."""


class Transport(ABC):
    """Moves frames between attached addresses."""

    reliable: bool = False
    """True when frames are never lost, duplicated or reordered per (sender, receiver)."""

    max_frame: int = DEFAULT_MAX_FRAME

    @abstractmethod
    def attach(self, address: Address, on_frame: FrameHandler) -> Link:
        """Register `address`; raises `TransportError` if it is already attached."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most transports need nothing
        """Release the transport's resources (sockets, tasks). Default: nothing to release."""


def check_frame_size(frame: bytes, limit: int, *, sender: Address, to: Address) -> None:
    """Raise `TransportError` if `frame` is larger than `limit` bytes."""
    if len(frame) > limit:
        raise TransportError(
            f"frame of {len(frame)} bytes from {sender} to {to} exceeds the {limit}-byte limit"
        )


class FramePoster(Protocol):
    """A transport living in this process, seen from its links (in-memory, simulated)."""

    def post_frame(self, sender: Address, to: Address, frame: bytes) -> None:
        """Take `frame` from `sender` for `to` (raising `TransportError` if it is refused)."""

    def detach(self, address: Address) -> None:
        """Stop delivering frames to `address`."""


class ClosableLink(Link):
    """The bookkeeping every link shares: its address, and refusing sends once closed.

    A transport's link says only how a frame leaves (`_deliver`) and what closing releases
    (`_release`).
    """

    __slots__ = ("_address", "_closed")

    def __init__(self, address: Address) -> None:
        self._address = address
        self._closed = False

    @property
    def address(self) -> Address:
        return self._address

    @property
    def closed(self) -> bool:
        return self._closed

    def send(self, to: Address, frame: bytes) -> Awaitable[None]:
        if self._closed:
            raise TransportError(f"link {self._address!r} is closed")
        return self._deliver(to, frame)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._release()

    @abstractmethod
    async def _deliver(self, to: Address, frame: bytes) -> None:
        """Hand `frame` to the transport (called only while the link is open)."""

    @abstractmethod
    def _release(self) -> None:
        """Stop delivering frames to this link (called once, by the first `close`)."""


class LocalLink(ClosableLink):
    """The link of an in-process transport: `send` hands the frame straight to the transport."""

    __slots__ = ("_transport",)

    def __init__(self, transport: FramePoster, address: Address) -> None:
        super().__init__(address)
        self._transport = transport

    async def send(self, to: Address, frame: bytes) -> None:
        # The in-memory hot path: posting is synchronous, so skip the extra `_deliver` await.
        if self._closed:
            raise TransportError(f"link {self._address!r} is closed")
        self._transport.post_frame(self._address, to, frame)

    async def _deliver(self, to: Address, frame: bytes) -> None:
        self._transport.post_frame(self._address, to, frame)

    def _release(self) -> None:
        self._transport.detach(self._address)
