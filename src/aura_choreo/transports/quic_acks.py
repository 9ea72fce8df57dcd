"""When a quic:// connection acknowledges what it received: with the next data it sends, else at once on
the second unacknowledged datagram, else `ACK_DELAY` after the first.

aioquic's own policy: an ACK is due 1 ms (its timer granularity) after an ack-eliciting packet arrives,
and a packet only carries an ACK that is already due. Our traffic is request/response: a frame, then
the peer runtime's reply a fraction of a millisecond to a few milliseconds later. Every reply slower
than 1 ms went out without the ACK, and the ACK went alone in a datagram of its own (built, encrypted,
sent, received, decrypted, parsed): 2.95 datagrams per round trip of the transports benchmark, against
2.56 for the raw aioquic echo (whose reply is immediate), and a datagram is most of a round trip's cost.

Here a pending ACK rides on the next data sent (as TCP's delayed ACK does); with nothing to send it goes
on its own at the latest `ACK_DELAY` after the first unacknowledged ack-eliciting datagram, or at once
when a second one arrives (RFC 9000 §13.2.2: acknowledge at least every second ack-eliciting packet,
which keeps a one-way bulk transfer's congestion window and our `drain` moving). `ACK_DELAY` stays under
the 25 ms `max_ack_delay` aioquic advertises, which the peer's loss timers already allow for.

This reads and writes aioquic's packet space of 1-RTT data (`_spaces`, `ack_at`), which is private: a
release that renamed them gets aioquic's own policy back (the space is not found), never a broken
connection. The handshake's packet spaces keep aioquic's policy.
"""

from __future__ import annotations

from typing import Any

from aioquic.quic.connection import NetworkAddress, QuicConnection
from aioquic.tls import Epoch

__all__ = ["ACK_DELAY", "AckPolicy"]

ACK_DELAY = 0.010
"""Longest wait for data to carry an ACK (seconds); under the 25 ms max_ack_delay aioquic advertises."""


class AckPolicy:
    """The acknowledgement policy above for one connection (its `receive` replaces `receive_datagram`)."""

    __slots__ = ("_connection", "_space")

    def __init__(self, connection: QuicConnection) -> None:
        self._connection = connection
        self._space: Any = None

    def _application_space(self) -> Any:
        space = self._space
        if space is None:  # created with the connection's keys (a server's: on its first datagram)
            spaces = getattr(self._connection, "_spaces", None)
            found = spaces.get(Epoch.ONE_RTT) if isinstance(spaces, dict) else None
            if found is not None and hasattr(found, "ack_at"):
                self._space = space = found
        return space

    def receive(self, data: bytes, addr: NetworkAddress, now: float) -> None:
        """Take a datagram from the peer and decide when to acknowledge it."""
        space = self._application_space()
        if space is None:
            self._connection.receive_datagram(data, addr, now=now)
            return
        pending = space.ack_at
        space.ack_at = None  # so that aioquic's setting it tells whether this datagram asks for an ACK
        try:
            self._connection.receive_datagram(data, addr, now=now)
        finally:  # (aioquic does not raise on bad input; if it did, a pending ACK must not be lost)
            if space.ack_at is None:
                space.ack_at = pending  # nothing here to acknowledge (an ACK, say): the pending one stands
            elif pending is not None:
                space.ack_at = now  # the second unacknowledged datagram
            else:
                space.ack_at = now + ACK_DELAY

    def piggyback(self, now: float) -> None:
        """Data is about to be sent: a pending ACK is made due so that it goes in the same packet."""
        space = self._application_space()
        if space is not None and space.ack_at is not None and space.ack_at > now:
            space.ack_at = now
