"""The in-memory transport (testing mode): reliable, with a deterministic delivery order.

A frame is handed to the receiver's frame handler inside `send` itself, so delivery order is exactly
send order, across all links, and costs no extra turn of the event loop. (Frame handlers only queue
and wake waiters; they never run role code, so this is not re-entrant.) Frames for an address that is
not attached yet wait until it is, so a role may start sending before its peer joined.

Direct hand-off: a receiver that registers an object handler (`attach_direct`; the runtime's node
does) is handed the sender's decoded object itself (`hand_off`), skipping the encoding of a frame and
its decoding. Both ends live in this process, and the payload inside stays encoded, so the receiver
still checks it against its step's type. A subclass that overrides `post_frame` (to refuse or watch
frames) turns the hand-off off: it sees every frame, as before.

A receiver may also name its targets (`attach_direct(..., targets)`: the runtime's node gives its
inboxes by (session, role)); a sender that found one (`target`) may put objects into it itself,
message after message, for as long as `epoch` (bumped by every attach and detach) stays the same. It
then counts its frames in `frames_sent`. Delivery stays synchronous, so the order is still send order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping

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
        self._direct: dict[Address, Callable[[Address, object], None]] = {}
        self._targets: dict[Address, Mapping[tuple[str, str], object]] = {}
        self.epoch = 0
        """Bumped by every attach and detach: a `target` found earlier is still right while it stays."""
        self.frames_sent = 0
        self.direct = type(self).post_frame is InMemoryTransport.post_frame
        """Whether `hand_off` may be used (False when a subclass intercepts `post_frame`)."""

    def attach_direct(
        self,
        address: Address,
        on_object: Callable[[Address, object], None],
        targets: Mapping[tuple[str, str], object] | None = None,
    ) -> None:
        """Let `address` (attached already) receive objects from `hand_off`, not only frames, and
        senders find its `targets` (a live mapping: what it holds now is what `target` finds)."""
        if self.direct and address in self._handlers:
            self._direct[address] = on_object
            if targets is not None:
                self._targets[address] = targets
            self.epoch += 1

    def target(self, to: Address, key: tuple[str, str]) -> object | None:
        """The receiver's target `key` at `to` (see the module docstring), or None."""
        targets = self._targets.get(to)
        return None if targets is None else targets.get(key)

    def hand_off(self, sender: Address, to: Address, obj: object) -> bool:
        """Give `obj` to `to`'s object handler at once; False (nothing done) if `to` has none, the
        caller then sends a frame. The caller has checked the frame size limit."""
        handler = self._direct.get(to)
        if handler is None:
            return False
        self.frames_sent += 1
        handler(sender, obj)
        return True

    def attach(self, address: Address, on_frame: FrameHandler) -> Link:
        if address in self._handlers:
            raise TransportError(f"address {address!r} is already attached")
        self._handlers[address] = on_frame
        self.epoch += 1
        waiting = self._pending.pop(address, None)
        if waiting:
            loop = asyncio.get_running_loop()
            for sender, frame in waiting:
                loop.call_soon(on_frame, sender, frame)
        return LocalLink(self, address)

    def detach(self, address: Address) -> None:
        self._handlers.pop(address, None)
        self._direct.pop(address, None)
        self._targets.pop(address, None)
        self.epoch += 1

    def post_frame(self, sender: Address, to: Address, frame: bytes) -> None:
        if len(frame) > self.max_frame:
            check_frame_size(frame, self.max_frame, sender=sender, to=to)  # raises, with the message
        self.frames_sent += 1
        handler = self._handlers.get(to)
        if handler is None:
            self._pending.setdefault(to, deque()).append((sender, frame))
        else:
            handler(sender, frame)
