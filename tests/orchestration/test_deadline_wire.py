"""The envelope's versioned deadline field (SPEC §8.6, runtime/wire.py version 2).

Version-1 frames (13 fields, no deadline) are still read and delivered; version-2 frames carry the
time the sender's caller had left; an unknown version is garbage; the endpoint stamps the deadline
of the task that sends and exposes the one that arrived.
"""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aura_choreo.protocol import choreography
from aura_choreo.runtime.deadlines import DEADLINE, arrival, outgoing_ms
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.runner import run_session
from aura_choreo.runtime.wire import (
    KIND_DATA,
    READABLE_VERSIONS,
    WIRE_VERSION,
    Envelope,
    decode_envelope,
    encode_envelope,
)
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.inmemory import InMemoryTransport

PING = choreography("choreography P { roles: A, B; A -> B: Ping(n: i64); B -> A: Pong(n: i64); }")
PAYLOAD = msgspec.msgpack.encode([1])  # Ping(n=1): message structs travel as arrays


class _EnvelopeV1(msgspec.Struct, array_like=True):
    """The version-1 layout exactly as it was before `deadline_ms` (what an old peer sends)."""

    version: int
    kind: int
    session: str
    protocol: str
    sender: str
    receiver: str
    label: str
    seq: int
    payload: msgspec.Raw
    receipt: bytes | None = None
    journal: bytes | None = None
    ext: dict[str, bytes] | None = None
    big: bool = False


def _v1_frame(session: str, seq: int = 1) -> bytes:
    return msgspec.msgpack.encode(
        _EnvelopeV1(1, KIND_DATA, session, "P", "A", "B", "Ping", seq, msgspec.Raw(PAYLOAD))
    )


def test_the_current_version_is_2_or_later_and_version_1_is_still_readable() -> None:
    assert WIRE_VERSION >= 2 and {1, 2} <= READABLE_VERSIONS


def test_a_version_1_frame_decodes_with_no_deadline() -> None:
    frame = _v1_frame("s1")
    assert len(msgspec.msgpack.decode(frame)) == 13
    envelope = decode_envelope(frame)
    assert envelope.version == 1 and envelope.deadline_ms is None and envelope.label == "Ping"


@given(st.none() | st.integers(0, 2**40))
def test_a_version_2_deadline_round_trips_and_an_old_reader_skips_it(deadline_ms: int | None) -> None:
    envelope = Envelope(
        WIRE_VERSION, KIND_DATA, "s", "P", "A", "B", "Ping", 1, msgspec.Raw(PAYLOAD), deadline_ms=deadline_ms
    )
    frame = encode_envelope(envelope)
    assert decode_envelope(frame).deadline_ms == deadline_ms
    old = msgspec.msgpack.decode(frame, type=_EnvelopeV1)  # an old reader ignores the trailing field
    assert old.label == "Ping" and old.version == WIRE_VERSION


def test_an_unknown_version_is_garbage_and_version_1_reaches_the_inbox() -> None:
    node = Node(InMemoryTransport(), "B")
    future = WIRE_VERSION + 1
    envelope = Envelope(future, KIND_DATA, "s1", "P", "A", "B", "Ping", 1, msgspec.Raw(PAYLOAD))
    unknown = encode_envelope(envelope)
    node._on_frame("A", unknown)
    assert node.stats.garbage == 1
    node._on_frame("A", _v1_frame("s1"))
    assert node.stats.garbage == 1  # the old frame was accepted, not counted as garbage


async def test_a_version_1_frame_from_an_old_peer_completes_a_session() -> None:
    transport = InMemoryTransport()
    session = PING.session()

    async def a(ep: Endpoint) -> None:
        # An old peer: its frames have no deadline field and say version 1 (the in-memory transport
        # is reliable, so no acknowledgement is expected back).
        transport.post_frame(session.address("A"), session.address("B"), _v1_frame(session.id))
        ep.monitor.accept_send(*ep.monitor.match_send("B", "Ping"))
        await ep.recv("B")

    async def b(ep: Endpoint) -> int:
        got = await ep.recv("A")
        assert ep.last_deadline is None
        await ep.send("A", ep.message("Pong", n=got.n + 1))
        return int(got.n)

    results = await asyncio.wait_for(run_session(session, transport, {"A": a, "B": b}), 5)
    assert results["B"] == 1


@pytest.mark.parametrize("left", [0.2, 1.5, 0.0004])
def test_the_callee_sees_the_deadline_its_caller_was_under(left: float) -> None:
    async def main() -> tuple[float, float | None, float | None]:
        loop = asyncio.get_running_loop()
        session = PING.session()
        seen: dict[str, float | None] = {}

        async def a(ep: Endpoint) -> None:
            await asyncio.sleep(3.0)  # time passes before the call: the deadline is absolute
            token = DEADLINE.set(loop.time() + left)
            try:
                await ep.send("B", ep.message("Ping", n=1))
            finally:
                DEADLINE.reset(token)
            await ep.recv("B")
            seen["A"] = ep.last_deadline  # B sent outside any deadline

        async def b(ep: Endpoint) -> None:
            await ep.recv("A")
            seen["B"] = ep.last_deadline
            await ep.send("A", ep.message("Pong", n=2))

        await run_session(session, InMemoryTransport(), {"A": a, "B": b})
        return 3.0 + left, seen["B"], seen["A"]

    caller_deadline, callee_sees, back = run_virtual(main())
    assert back is None
    assert callee_sees is not None
    # Whole milliseconds, rounded down: never more time than the caller has, at most 1 ms less.
    assert caller_deadline - 0.001 <= callee_sees <= caller_deadline + 1e-9


@given(st.floats(-10, 10), st.floats(0, 1000))
def test_outgoing_ms_never_promises_more_than_is_left(left: float, now: float) -> None:
    ms = outgoing_ms(now + left, now)
    assert ms is not None and ms >= 0
    assert ms / 1000 <= max(left, 0) + 1e-9
    assert arrival(ms, now) is not None
    assert outgoing_ms(None, now) is None and arrival(None, now) is None
    assert arrival(-5, now) == now  # a peer's negative deadline is "already due", not the past
