"""A node: one device's attachment to a transport, shared by every endpoint (session, role) it hosts.

The node is the session layer below the endpoints. It encodes and decodes envelopes, enforces the
frame size limit, drops and counts garbage frames (never crashing on them), demultiplexes arriving
envelopes by (session, receiver role) into inboxes, and, over an unreliable transport, makes each
(session, sender, receiver) channel reliable and FIFO: cumulative acknowledgements, retransmission on
a timer with exponential backoff, de-duplication and reordering by sequence number.

A long-lived node holds nothing per finished session: an endpoint's inbox and its channels' receive
state go when it leaves, and the set of finished endpoints (which answers their late frames) keeps only
the most recent `max_finished`. Frames for an endpoint that has not joined (yet, or ever) wait in a
stray buffer bounded in frames (`max_stray`) and age (`stray_ttl`); what falls out is counted.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass
from types import TracebackType

from aura_choreo.errors import TransportError
from aura_choreo.runtime.inbox import Inbox
from aura_choreo.runtime.wire import (
    ENVELOPE_DECODER,
    KIND_ACK,
    NIL,
    READABLE_VERSIONS,
    WIRE_VERSION,
    Envelope,
    OutgoingEnvelope,
    WireError,
    encode_envelope,
)
from aura_choreo.transports.base import Address, Link, Transport

_encode = encode_envelope
_decode = ENVELOPE_DECODER.decode  # `decode_envelope` without its call frame: every frame goes through

REORDER_WINDOW = 4096
"""How far ahead of the next expected sequence number a frame may arrive and be kept."""

ChannelKey = tuple[str, str, str]
"""(session, sender role, receiver role)."""


@dataclass
class NodeStats:
    """Counters of what the node dropped or repaired (for tests, metrics and the simulator)."""

    garbage: int = 0
    """Frames that were too large, undecodable, or of an unknown version."""
    duplicates: int = 0
    retransmissions: int = 0
    reordered: int = 0
    acks_sent: int = 0
    after_end: int = 0
    """Messages for an endpoint that had already finished (dropped)."""
    stray_dropped: int = 0
    """Frames for an endpoint that never joined, dropped once the stray buffer was full or they aged."""


@dataclass
class _Unacked:
    to: Address
    frame: bytes
    due: float
    attempts: int = 0


class _Receiving:
    """Receive state of one channel over an unreliable transport."""

    __slots__ = ("buffer", "next_seq")

    def __init__(self) -> None:
        self.next_seq = 1
        self.buffer: dict[int, Envelope] = {}


def _now() -> float:
    """The running loop's clock (virtual time in simulation), or the monotonic clock outside a loop."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


class Node:
    """Attach `address` to `transport` for the duration of `async with Node(...) as node:`.

    Over an unreliable transport, leaving the block first waits (up to `linger` seconds) until every
    frame sent has been acknowledged, as a TCP socket lingers on close.
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
        self.stats = NodeStats()
        self._inboxes: dict[tuple[str, str], Inbox] = {}
        # Recently finished endpoints (insertion order = finishing order), for counting late frames.
        self._finished: OrderedDict[tuple[str, str], None] = OrderedDict()
        # Frames for endpoints that have not joined: per endpoint, the first arrival's time and frames.
        self._stray: OrderedDict[tuple[str, str], tuple[float, list[Envelope]]] = OrderedDict()
        self._stray_count = 0
        self._link: Link | None = None
        self._tasks: asyncio.TaskGroup | None = None
        self._background: list[asyncio.Task[None]] = []
        self._unacked: dict[tuple[str, str, str, int], _Unacked] = {}
        self._receiving: dict[ChannelKey, _Receiving] = {}
        # The channels in `_receiving` per receiving endpoint (session, role): forgotten with it.
        self._channels_to: dict[tuple[str, str], list[ChannelKey]] = {}
        self._acks: dict[tuple[Address, ChannelKey], int] = {}
        self._wake_acks = asyncio.Event()
        self._wake_resend = asyncio.Event()

    async def __aenter__(self) -> Node:
        self._link = self.transport.attach(self.address, self._on_frame)
        if not self.reliable:
            self._tasks = asyncio.TaskGroup()
            await self._tasks.__aenter__()
            self._background = [
                self._tasks.create_task(self._ack_pump()),
                self._tasks.create_task(self._resend_loop()),
            ]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._tasks is not None:
            if exc_type is None and self._unacked:
                await self._linger()
            # Acknowledgements the last receives owe would die with the pump: the peer would then
            # retransmit to a node that is gone until its own linger gives up.
            await self._send_acks()
            for task in self._background:
                task.cancel()
            await self._tasks.__aexit__(None, None, None)
            self._tasks = None
        if self._link is not None:
            self._link.close()

    async def _linger(self) -> None:
        """Keep retransmitting for up to `linger` seconds so the last frames reach their peers."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.linger
        while self._unacked and loop.time() < give_up:
            await asyncio.sleep(min(self.retransmit_after, max(give_up - loop.time(), 0.0)))

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
        for channel in self._channels_to.pop(key, ()):
            self._receiving.pop(channel, None)
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
            "unacked": len(self._unacked),
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
        for channel in self._channels_to.pop(key, ()):
            self._receiving.pop(channel, None)

    def send(self, to: Address, envelope: Envelope | OutgoingEnvelope) -> Awaitable[None]:
        """Encode and send an envelope (await the result); over an unreliable transport, keep it until
        acknowledged. Raises `TransportError` at once if the node is detached or the frame too large."""
        link = self._link
        if link is None:
            raise TransportError(f"node {self.address!r} is not attached (use `async with`)")
        frame = _encode(envelope)
        if len(frame) > self.max_frame:
            raise TransportError(
                f"message {envelope.label} is {len(frame)} bytes, over the {self.max_frame}-byte limit",
                role=envelope.sender,
                session=envelope.session,
            )
        if not self.reliable:
            loop = asyncio.get_running_loop()
            key = (envelope.session, envelope.sender, envelope.receiver, envelope.seq)
            self._unacked[key] = _Unacked(to, frame, loop.time() + self.retransmit_after)
            self._wake_resend.set()
        # Returning the link's coroutine (instead of awaiting it here) saves a frame per message.
        return link.send(to, frame)

    # ------------------------------------------------------------------ arrivals

    def _on_frame(self, sender: Address, frame: bytes) -> None:
        if len(frame) > self.max_frame:
            self.stats.garbage += 1
            return
        try:
            envelope = _decode(frame)
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

    def _on_unreliable(self, sender: Address, envelope: Envelope) -> None:
        channel = (envelope.session, envelope.sender, envelope.receiver)
        state = self._receiving.get(channel)
        if state is None:
            endpoint = (envelope.session, envelope.receiver)
            if endpoint in self._finished:
                # Its receive state is gone with it: acknowledge (the sender stops resending) and drop.
                self.stats.after_end += 1
                self._acks[(sender, channel)] = envelope.seq
                self._wake_acks.set()
                return
            if envelope.seq != 1 and endpoint not in self._inboxes:
                self.stats.stray_dropped += 1  # not resent in order yet: no state for an unknown session
                return
            state = self._receiving[channel] = _Receiving()
            self._channels_to.setdefault(endpoint, []).append(channel)
        seq = envelope.seq
        if seq < state.next_seq or seq in state.buffer:
            self.stats.duplicates += 1
        elif seq > state.next_seq:
            if (
                seq - state.next_seq > REORDER_WINDOW
                or (envelope.session, envelope.receiver) not in self._inboxes
            ):
                # Beyond the window, or for an endpoint that has not joined: not kept, not acknowledged
                # (the sender resends it), so an unknown session holds only in-order, bounded strays.
                self.stats.stray_dropped += 1
                return
            self.stats.reordered += 1
            state.buffer[seq] = envelope
        else:
            self._push(envelope)
            state.next_seq += 1
            while state.next_seq in state.buffer:
                self._push(state.buffer.pop(state.next_seq))
                state.next_seq += 1
        # Acknowledge cumulatively (also on duplicates: the previous ack may have been lost).
        self._acks[(sender, channel)] = state.next_seq - 1
        self._wake_acks.set()

    def _on_ack(self, envelope: Envelope) -> None:
        # An ack travels receiver -> sender, so its `receiver` is the original sender.
        session, original_sender, original_receiver = envelope.session, envelope.receiver, envelope.sender
        for key in [k for k in self._unacked if k[:3] == (session, original_sender, original_receiver)]:
            if key[3] <= envelope.seq:
                del self._unacked[key]

    # ------------------------------------------------------------------ background (unreliable only)

    async def _ack_pump(self) -> None:
        while True:
            await self._wake_acks.wait()
            self._wake_acks.clear()
            await self._send_acks()

    async def _send_acks(self) -> None:
        """Send every acknowledgement owed so far (one per channel, for its highest sequence number)."""
        acks, self._acks = self._acks, {}
        for (to, (session, sender, receiver)), seq in acks.items():
            ack = Envelope(WIRE_VERSION, KIND_ACK, session, "", receiver, sender, "", seq, NIL)
            if self._link is None or self._link.closed:
                return
            self.stats.acks_sent += 1
            try:
                await self._link.send(to, encode_envelope(ack))
            except TransportError:
                pass  # the sender retransmits and we acknowledge again

    async def _resend_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._unacked:
                self._wake_resend.clear()
                await self._wake_resend.wait()
                continue
            now = loop.time()
            next_due = min(u.due for u in self._unacked.values())
            if next_due > now:
                # Wake early when a new frame is sent: its first retransmission is due in
                # `retransmit_after`, which may come before an older frame's backed-off deadline.
                self._wake_resend.clear()
                try:
                    async with asyncio.timeout(next_due - now):
                        await self._wake_resend.wait()
                except TimeoutError:
                    pass
                continue
            for unacked in list(self._unacked.values()):
                if unacked.due > now:
                    continue
                unacked.attempts += 1
                backoff = self.retransmit_after * (2**unacked.attempts)
                unacked.due = now + min(backoff, self.max_retransmit_after)
                self.stats.retransmissions += 1
                if self._link is None or self._link.closed:
                    return
                try:
                    await self._link.send(unacked.to, unacked.frame)
                except TransportError:
                    pass  # keep it queued; the next round tries again
