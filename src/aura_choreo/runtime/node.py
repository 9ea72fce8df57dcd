"""A node: one device's attachment to a transport, shared by every endpoint (session, role) it hosts.

The node is the session layer below the endpoints. It encodes and decodes envelopes, enforces the
frame size limit, drops and counts garbage frames (never crashing on them), demultiplexes arriving
envelopes by (session, receiver role) into inboxes, and, over an unreliable transport, makes each
(session, sender, receiver) channel reliable and FIFO (`node_channels`: acknowledgements carried by
data frames or delayed, one retransmission timer, de-duplication and reordering by sequence number).
On the in-memory transport, envelopes are handed to the receiving node directly (no frame is encoded
or decoded: both ends are in this process, and the payload stays encoded for the receiver's check).

A long-lived node holds nothing per finished session: an endpoint's inbox and its channels' receive
state go when it leaves, and the set of finished endpoints (which answers their late frames) keeps only
the most recent `max_finished`. Frames for an endpoint that has not joined (yet, or ever) wait in a
stray buffer bounded in frames (`max_stray`) and age (`stray_ttl`); what falls out is counted.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from types import TracebackType

from aura_choreo.errors import TransportError
from aura_choreo.runtime.inbox import Inbox
from aura_choreo.runtime.node_channels import REORDER_WINDOW, NodeStats, ReliableChannels, too_large
from aura_choreo.runtime.wire import (
    ENVELOPE_DECODER,
    KIND_ACK,
    MAX_RECURSION,
    READABLE_VERSIONS,
    Envelope,
    OutgoingEnvelope,
    WireError,
    decode_envelope,
    encode_envelope,
)
from aura_choreo.transports.base import Address, Link, Transport
from aura_choreo.transports.inmemory import InMemoryTransport

__all__ = ["REORDER_WINDOW", "Node", "NodeStats"]

_encode = encode_envelope
_recursion_limit = sys.getrecursionlimit


def _now() -> float:
    """The running loop's clock (virtual time in simulation), or the monotonic clock outside a loop."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


class Node(ReliableChannels):
    """Attach `address` to `transport` for the duration of `async with Node(...) as node:`.

    Over an unreliable transport, leaving the block first waits (up to `linger` seconds) until every
    frame sent has been acknowledged, as a TCP socket lingers on close. `ack_delay` (default: a quarter
    of `retransmit_after`, at most 20 ms) is how long an acknowledgement waits for a data frame to
    carry it; `give_up_after` (None: never) is when an unacknowledged frame stops being retransmitted.
    """

    def __init__(
        self,
        transport: Transport,
        address: Address,
        *,
        retransmit_after: float = 0.2,
        max_retransmit_after: float = 5.0,
        linger: float = 2.0,
        max_stray: int = 1024,
        stray_ttl: float = 60.0,
        max_finished: int = 4096,
        ack_delay: float | None = None,
        give_up_after: float | None = 600.0,
        decode: Callable[[bytes], Envelope] = decode_envelope,
    ) -> None:
        self.transport = transport
        self.address = address
        self.reliable = transport.reliable
        self.max_frame = transport.max_frame
        self.retransmit_after = retransmit_after
        self.max_retransmit_after = max_retransmit_after
        self.linger = linger
        """On exit, how long to keep retransmitting unacknowledged frames (unreliable transports)."""
        self.max_stray = max_stray
        self.stray_ttl = stray_ttl
        self.max_finished = max_finished
        self.ack_delay = min(retransmit_after / 4, 0.02) if ack_delay is None else ack_delay
        self.give_up_after = give_up_after
        self.stats = NodeStats()
        self._inboxes: dict[tuple[str, str], Inbox] = {}
        # Recently finished endpoints (insertion order = finishing order), for counting late frames.
        self._finished: OrderedDict[tuple[str, str], None] = OrderedDict()
        # Frames for endpoints that have not joined: per endpoint, the first arrival's time and frames.
        self._stray: OrderedDict[tuple[str, str], tuple[float, list[Envelope]]] = OrderedDict()
        self._stray_count = 0
        self._link: Link | None = None
        self._hand_off: Callable[[Address, Address, object], bool] | None = None
        self._decode = decode
        """How an arriving frame becomes an envelope (a transport that already decoded it to check its
        origin hands that envelope over: `deployment.run.EnvelopeOrigin`)."""
        self._fast_decode = ENVELOPE_DECODER.decode if decode is decode_envelope else None
        self._init_channels()

    async def __aenter__(self) -> Node:
        transport = self.transport
        self._enter_loop(asyncio.get_running_loop())
        self._link = transport.attach(self.address, self._on_frame)
        if isinstance(transport, InMemoryTransport) and transport.direct:
            transport.attach_direct(self.address, self._on_object, self._inboxes)
            self._hand_off = transport.hand_off
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.reliable:
            if exc_type is None and self._unacked:
                await self._linger(self.linger)
            await self._close_channels()
        self._hand_off = None
        if self._link is not None:
            self._link.close()

    # ------------------------------------------------------------------ endpoints

    def inbox(self, session: str, role: str) -> Inbox:
        """The inbox of (session, role), created when its endpoint joins (with the frames that arrived
        before it)."""
        key = (session, role)
        inbox = self._inboxes.get(key)
        if inbox is None:
            inbox = self._inboxes[key] = Inbox()
            stray = self._stray.pop(key, None)
            if stray is not None:
                self._stray_count -= len(stray[1])
                for envelope in stray[1]:
                    inbox.push(envelope)
        return inbox

    def release(self, session: str, role: str) -> None:
        """Forget an endpoint that has finished (inbox, receive state); later frames for it are counted."""
        key = (session, role)
        inbox = self._inboxes.pop(key, None)
        if inbox is not None:
            inbox.close()
        self._forget_channels(key)
        self._finished[key] = None
        if len(self._finished) > self.max_finished:
            self._finished.popitem(last=False)

    def retained(self) -> dict[str, int]:
        """How many entries each per-session structure holds (what a long-lived node keeps)."""
        return {
            "inboxes": len(self._inboxes),
            "finished": len(self._finished),
            "stray_frames": self._stray_count,
            "receiving": len(self._receiving),
            "unacked": self.unacked_frames(),
        }

    def _push(self, envelope: Envelope) -> None:
        key = (envelope.session, envelope.receiver)
        inbox = self._inboxes.get(key)
        if inbox is not None:
            inbox.push(envelope)
        elif key in self._finished:
            self.stats.after_end += 1
        else:
            self._keep_stray(key, envelope)

    def _keep_stray(self, key: tuple[str, str], envelope: Envelope) -> None:
        """Hold a frame for an endpoint that has not joined, within the count and age bounds."""
        now = _now()
        stray = self._stray
        while stray:  # the oldest first: drop whole endpoints whose first frame is too old
            oldest, (since, frames) = next(iter(stray.items()))
            if now - since <= self.stray_ttl and self._stray_count < self.max_stray:
                break
            del stray[oldest]
            self._forget_stray(oldest, len(frames))
        if self.max_stray <= 0:
            self.stats.stray_dropped += 1
            return
        entry = stray.get(key)
        if entry is None:
            stray[key] = (now, [envelope])
        else:
            entry[1].append(envelope)
        self._stray_count += 1

    def _forget_stray(self, key: tuple[str, str], frames: int) -> None:
        self._stray_count -= frames
        self.stats.stray_dropped += frames
        self._forget_channels(key)

    def hand_off(self, to: Address, envelope: Envelope, size: int) -> bool:
        """Deliver `envelope` at once to a node of this process (the in-memory transport's hand-off);
        False when that is not possible (another transport, a frame over the size limit, no such
        node), nothing done: then `send` it. `size` bounds the envelope's encoded size from above
        (`header_bound` plus the payload's length, for an envelope without attachments)."""
        hand_off = self._hand_off
        if hand_off is None or self._link is None or size > self.max_frame:
            return False
        return hand_off(self.address, to, envelope)

    def send(self, to: Address, envelope: Envelope | OutgoingEnvelope) -> Awaitable[None]:
        """Encode and send an envelope (await the result); over an unreliable transport, keep it until
        acknowledged. Raises `TransportError` at once if the node is detached or the frame too large."""
        link = self._link
        if link is None:
            raise TransportError(f"node {self.address!r} is not attached (use `async with`)")
        hand_off = self._hand_off
        if (
            hand_off is not None
            and type(envelope) is Envelope
            and _size_bound(envelope) <= self.max_frame
            and hand_off(self.address, to, envelope)
        ):
            return _handed()
        if not self.reliable:
            return self._send_reliably(link, to, envelope)
        frame = _encode(envelope)
        if len(frame) > self.max_frame:
            raise too_large(envelope, len(frame), self.max_frame)
        # Returning the link's awaitable (instead of awaiting it here) saves a frame per message.
        return link.send(to, frame)

    # ------------------------------------------------------------------ arrivals

    def _on_frame(self, sender: Address, frame: bytes) -> None:
        if len(frame) > self.max_frame:
            self.stats.garbage += 1
            return
        try:
            # `decode_envelope`'s common case without its call frame (once per message).
            fast = self._fast_decode
            if fast is not None and _recursion_limit() <= MAX_RECURSION:
                envelope = fast(frame)
            else:
                envelope = self._decode(frame)
        except WireError:
            self.stats.garbage += 1
            return
        if envelope.version not in READABLE_VERSIONS:
            self.stats.garbage += 1
            return
        if self.reliable:
            inbox = self._inboxes.get((envelope.session, envelope.receiver))
            if inbox is not None:
                inbox.push(envelope)
            else:
                self._push(envelope)
        elif envelope.kind == KIND_ACK:
            self._on_ack(envelope)
        else:
            self._on_unreliable(sender, envelope)

    def _on_object(self, sender: Address, obj: object) -> None:
        """An envelope handed over by a node in this process (the in-memory transport's hand-off)."""
        if type(obj) is not Envelope:
            self.stats.garbage += 1
            return
        inbox = self._inboxes.get((obj.session, obj.receiver))
        if inbox is not None:
            inbox.push(obj)
        else:
            self._push(obj)


async def _handed() -> None:
    """What `Node.send` returns for an envelope handed over directly: it has already arrived."""


def header_bound(session: str, protocol: str, sender: str, receiver: str, label: str) -> int:
    """An upper bound of the encoded size of an envelope with these fields, an empty payload and no
    attachments (a character is at most 4 bytes in UTF-8; 64 covers the numbers and framing)."""
    return 64 + 4 * (len(session) + len(protocol) + len(sender) + len(receiver) + len(label))


def _size_bound(envelope: Envelope) -> int:
    """An upper bound of the encoded size of `envelope`."""
    size = len(envelope.payload) + header_bound(
        envelope.session, envelope.protocol, envelope.sender, envelope.receiver, envelope.label
    )
    if envelope.receipt is not None:
        size += 5 + len(envelope.receipt)
    if envelope.journal is not None:
        size += 5 + len(envelope.journal)
    if envelope.ext is not None:
        size += 5 + sum(10 + 4 * len(k) + len(v) for k, v in envelope.ext.items())
    return size
