"""When quic:// acknowledges (`transports.quic_acks`), on two aioquic connections joined by hand: no
sockets, no clock but the test's."""

from __future__ import annotations

from typing import Any

import pytest

from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.tls import Credentials
from conftest import require_quic

CLIENT_ADDRESS, SERVER_ADDRESS = ("127.0.0.1", 1), ("127.0.0.1", 2)


class Pair:
    """A dialer and a listener connection, each receiving through its `AckPolicy`; `now` is the clock."""

    def __init__(self) -> None:
        from aioquic.quic.connection import QuicConnection

        from aura_choreo.transports.quic import _ask_client_certificate, _configuration
        from aura_choreo.transports.quic_acks import AckPolicy

        alice, bob = Credentials(Identity.generate("alice")), Credentials(Identity.generate("bob"))
        self.client = QuicConnection(configuration=_configuration(alice, client=True))
        self.server = QuicConnection(
            configuration=_configuration(bob, client=False),
            original_destination_connection_id=self.client.original_destination_connection_id,
        )
        _ask_client_certificate(self.server)
        self.policies = {id(self.client): AckPolicy(self.client), id(self.server): AckPolicy(self.server)}
        self.now = 0.0
        self.client.connect(SERVER_ADDRESS, now=self.now)
        for _ in range(10):  # the handshake, its last ACKs included, until neither side has more to say
            self.step(0.03)
            self.send(self.client, self.server)
            self.send(self.server, self.client)
        self.stream = self.client.get_next_available_stream_id()

    def step(self, seconds: float) -> None:
        self.now += seconds

    def send(self, sender: Any, receiver: Any) -> int:
        """Deliver what `sender` has to send now; returns the number of datagrams."""
        datagrams = sender.datagrams_to_send(now=self.now)
        address = CLIENT_ADDRESS if sender is self.client else SERVER_ADDRESS
        for data, _ in datagrams:
            self.policies[id(receiver)].receive(data, address, self.now)
        return len(datagrams)

    def request(self, data: bytes) -> None:
        self.step(0.0002)  # past aioquic's pacing of the previous packet, well within its 1 ms ACK delay
        self.client.send_stream_data(self.stream, data)
        assert self.send(self.client, self.server) == 1

    def unacknowledged(self) -> int:
        sender = self.client._streams[self.stream].sender
        held: int = sender._buffer_stop - sender._buffer_start
        return held


@pytest.fixture
def pair() -> Pair:
    require_quic()
    return Pair()


def test_a_reply_carries_the_ack_and_no_datagram_goes_for_it_alone(pair: Pair) -> None:
    from aura_choreo.transports.quic_acks import ACK_DELAY

    pair.request(b"ping")
    pair.step(ACK_DELAY / 2)  # a slow reply (aioquic alone would have sent the ACK by itself by now)
    assert pair.server.datagrams_to_send(now=pair.now) == []
    pair.policies[id(pair.server)].piggyback(pair.now)
    pair.server.send_stream_data(pair.stream, b"pong")
    assert pair.send(pair.server, pair.client) == 1
    assert pair.unacknowledged() == 0  # the one datagram acknowledged the ping


def test_with_nothing_to_send_the_ack_goes_alone_after_the_delay(pair: Pair) -> None:
    from aura_choreo.transports.quic_acks import ACK_DELAY

    pair.request(b"ping")
    pair.step(ACK_DELAY * 0.9)
    assert pair.server.datagrams_to_send(now=pair.now) == []
    pair.step(ACK_DELAY * 0.1)
    assert pair.send(pair.server, pair.client) == 1
    assert pair.unacknowledged() == 0


def test_a_second_unacknowledged_datagram_is_acknowledged_at_once(pair: Pair) -> None:
    """RFC 9000 13.2.2: a one-way transfer gets an ACK at least every second packet, so its window and
    `drain` keep moving without waiting for the delay."""
    pair.request(b"one")
    pair.request(b"two")
    assert pair.send(pair.server, pair.client) == 1
    assert pair.unacknowledged() == 0
