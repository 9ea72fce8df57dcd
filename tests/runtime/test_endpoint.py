"""Imperative endpoints end to end in memory: delivery, waiting, violations, timeouts, the wire."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from aura_choreo.errors import PeerTimeout, ProtocolViolation, TransportError
from aura_choreo.protocol import Protocol, choreography
from aura_choreo.runtime.durations import format_seconds
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.runner import run_session
from aura_choreo.runtime.session import start_session
from aura_choreo.runtime.wire import KIND_DATA, WIRE_VERSION, Envelope, encode_envelope, encode_payload
from aura_choreo.transports.inmemory import InMemoryTransport

pytestmark = pytest.mark.virtual_time  # sleeps and peer deadlines take virtual time, not wall-clock time

STREAM = choreography(
    """
    choreography Stream {
        roles: A, B;
        loop (count: 5) { A -> B: Item(n: i64); }
        B -> A: Total(sum: i64);
    }
    """
)

PING = choreography(
    """
    choreography Ping {
        roles: A, B;
        A -> B: Ping(n: i64);
        B -> A: Pong(n: i64);
    }
    """
)


async def run(protocol: Protocol, **roles: object) -> dict[str, object]:
    return await run_session(protocol.session(), InMemoryTransport(), roles)


async def test_messages_queued_before_the_receive_arrive_in_order_and_none_is_lost() -> None:
    all_sent = asyncio.Event()

    async def a(ep: Endpoint) -> int:
        for n in range(5):
            await ep.send("B", ep.message("Item", n=n))
        all_sent.set()
        total = await ep.recv("B")
        return int(total.sum)

    async def b(ep: Endpoint) -> list[int]:
        await all_sent.wait()
        await asyncio.sleep(0)  # let every frame land in the inbox first
        assert ep.inbox.pending() == 5
        got = [(await ep.recv("A")).n for _ in range(5)]
        await ep.send("A", ep.message("Total", sum=sum(got)))
        return got

    results = await run(STREAM, A=a, B=b)
    assert results == {"A": 10, "B": [0, 1, 2, 3, 4]}


async def test_a_receive_before_the_send_waits_for_it() -> None:
    events: list[str] = []

    async def a(ep: Endpoint) -> None:
        await asyncio.sleep(0.01)
        events.append("send")
        await ep.send("B", ep.message("Ping", n=7))
        await ep.recv("B")

    async def b(ep: Endpoint) -> None:
        events.append("waiting")
        ping = await ep.recv("A")
        events.append(f"got {ping.n}")
        await ep.send("A", ep.message("Pong", n=ping.n))

    await run(PING, A=a, B=b)
    assert events == ["waiting", "send", "got 7"]


async def test_wrong_label_raises_before_anything_reaches_the_wire() -> None:
    transport = InMemoryTransport()
    session = PING.session()
    async with Node(transport, "A") as node:
        endpoint = session.endpoint("A", node)
        with pytest.raises(ProtocolViolation) as caught:
            await endpoint.send("B", "Pong")
    assert caught.value.role == "A"
    assert caught.value.session == session.id
    assert caught.value.step == "step 1"
    assert "send Ping to B" in caught.value.expected
    assert transport.frames_sent == 0


async def test_wrong_peer_raises() -> None:
    async def a(ep: Endpoint) -> None:
        await ep.send("C", ep.message("Ping", n=1))

    three = choreography("choreography T { roles: A, B, C; A -> B: Ping(n: i64); B -> C: Ping(n: i64); }")
    with pytest.raises(ProtocolViolation, match="send Ping to B"):
        await run(three, A=a)


async def test_receiving_from_the_wrong_peer_raises_without_waiting() -> None:
    async def b(ep: Endpoint) -> None:
        await ep.recv("B")

    with pytest.raises(ProtocolViolation) as caught:
        await run(PING, A=_ping_a, B=b)
    assert caught.value.role == "B"
    assert caught.value.got == "receive from B"


async def _ping_a(ep: Endpoint) -> None:
    await ep.send("B", ep.message("Ping", n=1))
    await ep.recv("B")


async def test_wrong_payload_type_on_send_raises() -> None:
    async def a(ep: Endpoint) -> None:
        await ep.send("B", ep.message("Ping", n="not a number"))

    with pytest.raises(ProtocolViolation) as caught:
        await run(PING, A=a)
    assert caught.value.expected == "Ping(n: i64)"
    assert "n: str" in caught.value.got


async def test_wrong_payload_type_on_receipt_raises_at_the_receiver() -> None:
    session = PING.session()
    transport = InMemoryTransport()
    async with Node(transport, "A") as node_a, Node(transport, "B") as node_b:
        payload, _ = encode_payload({"n": "forged"})
        forged = Envelope(
            WIRE_VERSION, KIND_DATA, session.id, "Ping", "A", "B", "Ping", 1, msgspec.Raw(payload)
        )
        await node_a.send("B", forged)
        endpoint = session.endpoint("B", node_b)
        with pytest.raises(ProtocolViolation) as caught:
            await endpoint.recv("A")
    assert caught.value.role == "B"
    assert "bad payload" in caught.value.got


async def test_send_when_a_receive_is_due_raises() -> None:
    async def b(ep: Endpoint) -> None:
        await ep.send("A", ep.message("Pong", n=1))

    with pytest.raises(ProtocolViolation) as caught:
        await run(PING, A=_ping_a, B=b)
    assert caught.value.role == "B"
    assert caught.value.expected == "receive Ping from A"


async def test_a_send_after_the_end_raises() -> None:
    async def a(ep: Endpoint) -> None:
        await _ping_a(ep)
        await ep.send("B", ep.message("Ping", n=2))

    with pytest.raises(ProtocolViolation) as caught:
        await run(PING, A=a)
    assert caught.value.expected == "end"
    assert caught.value.step == "step 3"


async def test_a_message_left_unread_at_the_end_raises() -> None:
    session = PING.session()
    transport = InMemoryTransport()
    async with Node(transport, "A") as node_a, Node(transport, "B") as node_b:
        extra, _ = encode_payload({"n": 1})
        stray = Envelope(WIRE_VERSION, KIND_DATA, session.id, "Ping", "A", "B", "Ping", 2, msgspec.Raw(extra))

        async def a(ep: Endpoint) -> None:
            await _ping_a(ep)
            await node_a.send("B", stray)  # bypasses A's monitor, as a buggy peer would

        async def b(ep: Endpoint) -> None:
            ping = await ep.recv("A")
            await ep.send("A", ep.message("Pong", n=ping.n))
            await asyncio.sleep(0.01)

        with pytest.raises(ExceptionGroup) as caught:
            async with asyncio.TaskGroup() as group:
                group.create_task(_in(session.endpoint("A", node_a), a))
                group.create_task(_in(session.endpoint("B", node_b), b))
    (violation,) = caught.value.exceptions
    assert isinstance(violation, ProtocolViolation)
    assert violation.role == "B"
    assert violation.got == "Ping from A after the end"


async def _in(endpoint: Endpoint, code: object) -> None:
    async with endpoint as ep:
        await code(ep)  # type: ignore[operator]


async def test_leaving_before_the_end_raises() -> None:
    async def a(ep: Endpoint) -> None:
        await ep.send("B", ep.message("Ping", n=1))

    async def b(ep: Endpoint) -> None:
        await ep.recv("A")
        await ep.send("A", ep.message("Pong", n=1))

    with pytest.raises(ProtocolViolation) as caught:
        await run(PING, A=a, B=b)
    assert caught.value.role == "A"
    assert caught.value.got == "the end of the role's code"


async def test_a_silent_peer_becomes_peer_timeout_naming_role_and_session() -> None:
    session = PING.session(peer_timeout=0.02)

    async def a(ep: Endpoint) -> None:
        await ep.send("B", ep.message("Ping", n=1))
        await ep.recv("B")

    async def b(ep: Endpoint) -> None:
        await ep.recv("A")
        await asyncio.sleep(1)

    with pytest.raises(PeerTimeout) as caught:
        await run_session(session, InMemoryTransport(), {"A": a, "B": b})
    assert caught.value.role == "A"
    assert caught.value.session == session.id
    assert "B sent nothing within 0.02s" in str(caught.value)


async def test_peer_timeout_messages_round_durations_to_the_millisecond() -> None:
    session = PING.session(peer_timeout=0.0199977)  # float noise of the kind a computed deadline has

    async def a(ep: Endpoint) -> None:
        await ep.send("B", ep.message("Ping", n=1))
        await ep.recv("B")

    async def b(ep: Endpoint) -> None:
        await ep.recv("A")
        await asyncio.sleep(1)

    with pytest.raises(PeerTimeout) as caught:
        await run_session(session, InMemoryTransport(), {"A": a, "B": b})
    assert "B sent nothing within 0.02s (expected receive Pong from B)" in str(caught.value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0199977, "0.02s"),
        (0.02, "0.02s"),
        (30.0, "30s"),
        (1.5, "1.5s"),
        (0.0004, "0s"),
        (2.0004, "2s"),
        (-0.0001, "0s"),
    ],
)
def test_durations_are_formatted_to_the_millisecond(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


async def test_the_timeout_annotation_sets_the_receive_deadline() -> None:
    protocol = choreography("choreography T { roles: A, B; [@timeout = 20] A -> B: M; }")

    async def a(ep: Endpoint) -> None:
        await asyncio.sleep(1)

    async def b(ep: Endpoint) -> None:
        await ep.recv("A")

    session = protocol.session(peer_timeout=None)
    with pytest.raises(PeerTimeout, match=r"within 0\.02s"):
        await run_session(session, InMemoryTransport(), {"A": a, "B": b})


async def test_integers_beyond_64_bits_survive_the_wire() -> None:
    # An unsized `int` carries any integer (SPEC §7); sized types (`i64`) are range-checked (#11 item 18).
    big = -(3**100)
    protocol = choreography("choreography Big { roles: A, B; A -> B: Ping(n: int); B -> A: Pong(n: int); }")

    async def a(ep: Endpoint) -> int:
        await ep.send("B", ep.message("Ping", n=big))
        return int((await ep.recv("B")).n)

    async def b(ep: Endpoint) -> None:
        ping = await ep.recv("A")
        await ep.send("A", ep.message("Pong", n=ping.n * 2))

    results = await run(protocol, A=a, B=b)
    assert results["A"] == 2 * big


async def test_garbage_frames_are_dropped_and_counted_never_a_crash() -> None:
    transport = InMemoryTransport()
    session = PING.session()
    async with Node(transport, "A") as node_a, Node(transport, "B") as node_b:
        link = transport.attach("mallory", lambda _s, _f: None)
        for frame in (b"", b"\xff\xff\xff", b"\x93\x01\x02\x03", encode_envelope(_wrong_version(session.id))):
            await link.send("B", frame)
        await asyncio.sleep(0)
        async with asyncio.TaskGroup() as group:
            group.create_task(_in(session.endpoint("A", node_a), _ping_a))
            group.create_task(_in(session.endpoint("B", node_b), _pong_b))
    assert node_b.stats.garbage == 4


def _wrong_version(session_id: str) -> Envelope:
    payload, _ = encode_payload({"n": 1})
    return Envelope(99, KIND_DATA, session_id, "Ping", "A", "B", "Ping", 1, msgspec.Raw(payload))


async def _pong_b(ep: Endpoint) -> None:
    ping = await ep.recv("A")
    await ep.send("A", ep.message("Pong", n=ping.n))


async def test_a_message_over_the_size_limit_is_refused_on_send() -> None:
    protocol = choreography("choreography T { roles: A, B; A -> B: Blob(data: String); }")
    transport = InMemoryTransport(max_frame=1024)
    session = protocol.session()
    async with Node(transport, "A") as node:
        endpoint = session.endpoint("A", node)
        with pytest.raises(TransportError, match="over the 1024-byte limit") as caught:
            await endpoint.send("B", endpoint.message("Blob", data="x" * 2000))
    assert caught.value.role == "A"
    assert transport.frames_sent == 0


async def test_an_unknown_role_is_refused_with_a_hint() -> None:
    session = PING.session()
    async with Node(InMemoryTransport(), "X") as node:
        with pytest.raises(ValueError, match="did you mean `A`"):
            session.endpoint("a", node)


async def test_offer_returns_the_deciding_label_and_keeps_the_message() -> None:
    protocol = choreography(
        """
        choreography Offer {
            roles: Client, Server;
            Client -> Server: Request(n: i64);
            choice Server {
                accept: { Server -> Client: Accept(id: i64); }
                reject: { Server -> Client: Reject(reason: String); }
            }
        }
        """
    )

    async def client(ep: Endpoint) -> tuple[str, object]:
        await ep.send("Server", ep.message("Request", n=4))
        label = await ep.offer("Server")
        return label, ep.last_message

    async def server(ep: Endpoint) -> None:
        request = await ep.recv("Client")
        await ep.choose("reject")
        await ep.send("Client", ep.message("Reject", reason=f"no {request.n}"))

    results = await run(protocol, Client=client, Server=server)
    label, message = results["Client"]  # type: ignore[misc]
    assert label == "Reject"
    assert message.reason == "no 4"


async def test_recv_any_takes_messages_in_arrival_order() -> None:
    protocol = choreography(
        """
        choreography FanIn {
            roles: Hub, L, R;
            parallel { L -> Hub: FromL | R -> Hub: FromR }
        }
        """
    )

    async def hub(ep: Endpoint) -> list[str]:
        await asyncio.sleep(0.01)
        return [(await ep.recv_any(["L", "R"]))[0] for _ in range(2)]

    async def left(ep: Endpoint) -> None:
        await asyncio.sleep(0.005)
        await ep.send("Hub", "FromL")

    async def right(ep: Endpoint) -> None:
        await ep.send("Hub", "FromR")

    results = await run(protocol, Hub=hub, L=left, R=right)
    assert results["Hub"] == ["R", "L"]


def test_start_session_accepts_local_types_directly() -> None:
    session = start_session(PING.local_types(), session_id="fixed")
    assert session.id == "fixed"
    assert session.protocol == "Ping"
    assert session.roles == ("A", "B")


async def test_an_unencodable_value_is_a_violation_not_a_crash() -> None:
    protocol = choreography("choreography T { roles: A, B; A -> B: Blob(data); }")

    async def a(ep: Endpoint) -> None:
        await ep.send("B", ep.message("Blob", data=object()))

    with pytest.raises(ProtocolViolation, match="unencodable value") as caught:
        await run(protocol, A=a)
    assert caught.value.role == "A"


async def test_a_wrong_label_from_a_buggy_peer_fails_the_labelled_receive_at_once() -> None:
    session = PING.session(peer_timeout=None)
    transport = InMemoryTransport()
    async with Node(transport, "A") as node_a, Node(transport, "B") as node_b:
        payload, _ = encode_payload({"n": 1})
        wrong = Envelope(
            WIRE_VERSION, KIND_DATA, session.id, "Ping", "A", "B", "Pong", 1, msgspec.Raw(payload)
        )
        await node_a.send("B", wrong)  # a peer that bypasses its monitor
        endpoint = session.endpoint("B", node_b)
        with pytest.raises(ProtocolViolation) as caught:
            await asyncio.wait_for(endpoint.recv("A", "Ping"), 1)
    assert caught.value.got == "receive Pong from A"


async def test_payload_fields_become_known_under_their_declared_names() -> None:
    # `from` is a Python keyword: the message class calls the field `from_`, the protocol says `from`.
    protocol = choreography("choreography K { roles: A, B; A -> B: M(from: i64, n: i64); }")
    session = protocol.session()

    async def a(ep: Endpoint) -> dict[str, object]:
        await ep.send("B", ep.message("M", from_=3, n=4))
        return ep.env

    results = await run_session(session, InMemoryTransport(), {"A": a})
    assert results["A"] == {"from": 3, "n": 4}
    assert results["B"] == {"from": 3, "n": 4}
