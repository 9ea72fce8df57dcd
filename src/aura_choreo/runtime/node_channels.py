"""Reliable channels over an unreliable transport: the part of a node (`node.Node` extends
`ReliableChannels`) that makes each (session, sender, receiver) channel deliver exactly once, in order.

- Arrival: sequence numbers, de-duplication, a reorder window, cumulative acknowledgements (also for
  duplicates: the previous acknowledgement may have been lost).
- Acknowledgements ride on data frames going back to the same peer (`Envelope.ack`, for the reverse
  channel of the same session). An acknowledgement that no data frame has carried within `ack_delay`
  goes as an ack frame of its own (a delayed ack, as in TCP), so a request/response exchange sends no
  ack frames at all, and a stream sends one per `ack_delay`, not one per frame.
- Retransmission: one timer per node (a `call_at` handle at the earliest due frame), not a task or
  timer per frame; per frame, exponential backoff from `retransmit_after` up to `max_retransmit_after`.
  A frame still unacknowledged `give_up_after` seconds after it was first sent is dropped and counted
  (`stats.abandoned`): a peer that never acknowledges does not hold the node's memory until it exits.
- Nothing here runs a task of its own: a timer that fires with frames to send starts one short-lived
  task for them (ack frames, retransmissions), which the node awaits or cancels when it leaves.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aura_choreo.errors import TransportError
from aura_choreo.runtime.inbox import Inbox
from aura_choreo.runtime.wire import KIND_ACK, NIL, WIRE_VERSION, Envelope, OutgoingEnvelope, encode_envelope
from aura_choreo.transports.base import Address, Link

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
    """Ack frames sent (acknowledgements carried by data frames are `acks_piggybacked`)."""
    acks_piggybacked: int = 0
    after_end: int = 0
    """Messages for an endpoint that had already finished (dropped)."""
    stray_dropped: int = 0
    """Frames for an endpoint that never joined, dropped once the stray buffer was full or they aged."""
    abandoned: int = 0
    """Frames never acknowledged within `give_up_after` (no longer retransmitted)."""


_Unacked = tuple[Address, bytes, float, float, int]
"""A sent frame awaiting its acknowledgement: (to, frame, when it is due again, when it was first sent,
retransmissions so far). A tuple, replaced when it is retransmitted: made once per message, it costs
a fraction of an object's `__init__`."""


def too_large(envelope: Envelope | OutgoingEnvelope, size: int, limit: int) -> TransportError:
    """The error for an envelope whose frame is over the node's size limit."""
    return TransportError(
        f"message {envelope.label} is {size} bytes, over the {limit}-byte limit",
        role=envelope.sender,
        session=envelope.session,
    )


class _Receiving:
    """Receive state of one channel over an unreliable transport."""

    __slots__ = ("buffer", "inbox", "next_seq")

    def __init__(self) -> None:
        self.next_seq = 1
        self.buffer: dict[int, Envelope] = {}
        self.inbox: Inbox | None = None
        """The receiving endpoint's inbox, once looked up (it lives as long as this state: leaving
        forgets both together, `Node.release`)."""


class ReliableChannels:
    """Acknowledgement, retransmission and reordering state of one node (see the module docstring)."""

    stats: NodeStats
    max_frame: int
    retransmit_after: float
    max_retransmit_after: float
    ack_delay: float
    give_up_after: float | None
    _link: Link | None
    _inboxes: dict[tuple[str, str], Inbox]
    _finished: Any  # OrderedDict of finished endpoints, owned by the node

    def _init_channels(self) -> None:
        self._unacked: dict[ChannelKey, dict[int, _Unacked]] = {}
        self._receiving: dict[ChannelKey, _Receiving] = {}
        # The channels in `_receiving` per receiving endpoint (session, role): forgotten with it.
        self._channels_to: dict[tuple[str, str], list[ChannelKey]] = {}
        self._acks: dict[tuple[Address, ChannelKey], int] = {}
        self._ack_timer: asyncio.TimerHandle | None = None
        self._resend_timer: asyncio.TimerHandle | None = None
        self._resend_at = math.inf
        self._sending: set[asyncio.Task[None]] = set()
        self._drained: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        """The loop the node runs in (set when it is entered). Asked of asyncio once per message, it
        cost a `getpid` system call each time (Python 3.11 checks the loop's process on every call)."""
        self._clock: Callable[[], float] = time.monotonic
        """`self._loop.time`, read once per message: asyncio's own `time` is a Python method that only
        calls `time.monotonic`, so for an asyncio loop that does not override it, that is called
        directly (a loop with its own clock, as a simulation's virtual time, is asked)."""

    def _enter_loop(self, loop: asyncio.AbstractEventLoop) -> asyncio.AbstractEventLoop:
        """Run in `loop` from now on (the node calls this when it is entered)."""
        self._loop = loop
        plain = type(loop).time is asyncio.BaseEventLoop.time
        self._clock = time.monotonic if plain else loop.time
        return loop

    def _push(self, envelope: Envelope) -> None:
        raise NotImplementedError  # the node's

    def unacked_frames(self) -> int:
        """How many sent frames wait for their acknowledgement."""
        return sum(len(frames) for frames in self._unacked.values())

    # ------------------------------------------------------------------ sending

    def _send_reliably(
        self, link: Link, to: Address, envelope: Envelope | OutgoingEnvelope
    ) -> Awaitable[None]:
        """Send `envelope` carrying the acknowledgement owed on its reverse channel (if any), and keep
        its frame until it is acknowledged (arming the retransmission timer if need be)."""
        session, sender, receiver = envelope.session, envelope.sender, envelope.receiver
        reverse = (to, (session, receiver, sender))
        owed = self._acks.pop(reverse, None)
        if owed is not None:
            envelope.ack = owed
        frame = encode_envelope(envelope)
        if len(frame) > self.max_frame:
            if owed is not None:
                self._acks[reverse] = owed  # still owed (its timer is still armed)
            raise too_large(envelope, len(frame), self.max_frame)
        if owed is not None:
            self.stats.acks_piggybacked += 1
        loop = self._loop
        if loop is None:
            loop = self._enter_loop(asyncio.get_running_loop())
        now = self._clock()
        channel = (session, sender, receiver)
        frames = self._unacked.get(channel)
        if frames is None:
            frames = self._unacked[channel] = {}
        due = now + self.retransmit_after
        frames[envelope.seq] = (to, frame, due, now, 0)
        if due < self._resend_at:
            self._arm_resend(loop, due)
        return link.send(to, frame)

    # ------------------------------------------------------------------ arrivals

    def _on_unreliable(self, sender: Address, envelope: Envelope) -> None:
        session, sender_role, receiver = envelope.session, envelope.sender, envelope.receiver
        seq = envelope.seq
        ack = envelope.ack
        if ack and self._unacked:
            self._acked(session, receiver, sender_role, ack)
        channel = (session, sender_role, receiver)
        state = self._receiving.get(channel)
        if state is None:
            endpoint = (session, receiver)
            if endpoint in self._finished:
                # Its receive state is gone with it: acknowledge (the sender stops resending) and drop.
                self.stats.after_end += 1
                self._owe_ack(sender, channel, seq)
                return
            if seq != 1 and endpoint not in self._inboxes:
                self.stats.stray_dropped += 1  # not resent in order yet: no state for an unknown session
                return
            state = self._receiving[channel] = _Receiving()
            self._channels_to.setdefault(endpoint, []).append(channel)
        next_seq = state.next_seq
        if seq == next_seq:  # the common case: the next frame, in order
            inbox = state.inbox
            if inbox is None:  # not joined yet when the channel began (or the first frame)
                inbox = state.inbox = self._inboxes.get((session, receiver))
            if inbox is not None:
                inbox.push(envelope)
            else:
                self._push(envelope)
            next_seq += 1
            buffer = state.buffer
            if buffer:
                while next_seq in buffer:
                    self._push(buffer.pop(next_seq))
                    next_seq += 1
            state.next_seq = next_seq
        elif seq < next_seq or seq in state.buffer:
            self.stats.duplicates += 1
        else:
            if seq - next_seq > REORDER_WINDOW or (session, receiver) not in self._inboxes:
                # Beyond the window, or for an endpoint that has not joined: not kept, not acknowledged
                # (the sender resends it), so an unknown session holds only in-order, bounded strays.
                self.stats.stray_dropped += 1
                return
            self.stats.reordered += 1
            state.buffer[seq] = envelope
        # Acknowledge cumulatively (also on duplicates: the previous ack may have been lost).
        self._acks[(sender, channel)] = next_seq - 1
        if self._ack_timer is None:
            self._arm_ack()

    def _on_ack(self, envelope: Envelope) -> None:
        # An ack travels receiver -> sender, so its `receiver` is the original sender.
        self._acked(envelope.session, envelope.receiver, envelope.sender, envelope.seq)

    def _acked(self, session: str, sender: str, receiver: str, seq: int) -> None:
        """Everything sent on (session, sender, receiver) up to `seq` has arrived."""
        channel = (session, sender, receiver)
        frames = self._unacked.get(channel)
        if frames is None:
            return
        while frames:  # in sequence order (insertion order; a retransmission keeps its place)
            first = next(iter(frames))
            if first > seq:
                break
            del frames[first]
        if not frames:
            del self._unacked[channel]
            if not self._unacked and self._drained is not None and not self._drained.done():
                self._drained.set_result(None)

    def _forget_channels(self, endpoint: tuple[str, str]) -> None:
        for channel in self._channels_to.pop(endpoint, ()):
            self._receiving.pop(channel, None)

    # ------------------------------------------------------------------ acknowledgements

    def _owe_ack(self, to: Address, channel: ChannelKey, seq: int) -> None:
        self._acks[(to, channel)] = seq
        if self._ack_timer is None:
            self._arm_ack()

    def _arm_ack(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # frames fed in without a loop (tests): the ack goes with the next one, or at exit
        self._ack_timer = loop.call_at(loop.time() + self.ack_delay, self._ack_timer_fired)

    def _ack_timer_fired(self) -> None:
        self._ack_timer = None
        if self._acks:
            self._spawn(self._send_acks())

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

    # ------------------------------------------------------------------ retransmission

    def _arm_resend(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._resend_timer is not None:
            self._resend_timer.cancel()
        self._resend_timer = loop.call_at(when, self._resend_due, loop)
        self._resend_at = when

    def _resend_due(self, loop: asyncio.AbstractEventLoop) -> None:
        """The retransmission timer: resend what is due, back it off, re-arm for the next due frame."""
        self._resend_timer = None
        self._resend_at = math.inf
        now = loop.time()
        due: list[tuple[Address, bytes]] = []
        next_due = math.inf
        give_up = self.give_up_after
        for channel, frames in list(self._unacked.items()):
            for seq, (to, frame, when, since, attempts) in list(frames.items()):
                if when <= now:
                    if give_up is not None and now - since >= give_up:
                        del frames[seq]
                        self.stats.abandoned += 1
                        continue
                    attempts += 1
                    backoff = self.retransmit_after * (2**attempts)
                    when = now + min(backoff, self.max_retransmit_after)
                    frames[seq] = (to, frame, when, since, attempts)
                    due.append((to, frame))
                next_due = min(next_due, when)
            if not frames:
                del self._unacked[channel]
        if due:
            self.stats.retransmissions += len(due)
            self._spawn(self._send_frames(due))
        if next_due < math.inf:
            self._arm_resend(loop, next_due)
        elif self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    async def _send_frames(self, frames: list[tuple[Address, bytes]]) -> None:
        for to, frame in frames:
            if self._link is None or self._link.closed:
                return
            try:
                await self._link.send(to, frame)
            except TransportError:
                pass  # still unacknowledged: the next round tries again

    # ------------------------------------------------------------------ leaving

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _linger(self, linger: float) -> None:
        """Wait (up to `linger` seconds, retransmitting) until every frame sent is acknowledged."""
        if not self._unacked:
            return
        self._drained = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._drained), linger)
        except TimeoutError:
            pass
        finally:
            self._drained = None

    async def _close_channels(self) -> None:
        """Stop the timers, send the acknowledgements still owed, and finish the frames in flight."""
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
        if self._resend_timer is not None:
            self._resend_timer.cancel()
            self._resend_timer = None
            self._resend_at = math.inf
        # Acknowledgements the last receives owe would die with the node: the peer would then
        # retransmit to a node that is gone until its own linger gives up.
        await self._send_acks()
        for task in list(self._sending):
            task.cancel()
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
