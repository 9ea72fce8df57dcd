"""The in-memory transport (testing mode): reliable, with a deterministic delivery order.

A frame is handed to the receiver's frame handler inside `send` itself, so delivery order is exactly
send order, across all links, and costs no extra turn of the event loop. (Frame handlers only queue
and wake waiters; they never run role code, so this is not re-entrant.) Frames for an address that is
not attached yet wait until it is, so a role may start sending before its peer joined.
"""

from __future__ import annotations

import asyncio
from collections import deque

from aura_choreo.errors import TransportError
from aura_choreo.transports.base import (
    DEFAULT_MAX_FRAME,
    Address,
    FrameHandler,
    Link,
    LocalLink,
    Transport,
    check_frame_size,
)


class InMemoryTransport(Transport):
    """Every link lives in this process; frames are delivered once, in send order."""

    reliable = True

    def __init__(self, *, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._handlers: dict[Address, FrameHandler] = {}
        self._pending: dict[Address, deque[tuple[Address, bytes]]] = {}
        self.frames_sent = 0

    def attach(self, address: Address, on_frame: FrameHandler) -> Link:
        if address in self._handlers:
            raise TransportError(f"address {address!r} is already attached")
        self._handlers[address] = on_frame
        waiting = self._pending.pop(address, None)
        if waiting:
            loop = asyncio.get_running_loop()
            for sender, frame in waiting:
                loop.call_soon(on_frame, sender, frame)
        return LocalLink(self, address)

    def detach(self, address: Address) -> None:
        self._handlers.pop(address, None)

    def post_frame(self, sender: Address, to: Address, frame: bytes) -> None:
        if len(frame) > self.max_frame:
            check_frame_size(frame, self.max_frame, sender=sender, to=to)  # raises, with the message
        self.frames_sent += 1
        handler = self._handlers.get(to)
        if handler is None:
            self._pending.setdefault(to, deque()).append((sender, frame))
        else:
            handler(sender, frame)
