"""Decoding untrusted input is bounded and typed (issue #11 item 13).

A node's frame handler never raises: garbage (random bytes, mutated valid frames, deep nesting) is
dropped and counted. A payload the receiving step cannot decode is a typed `ProtocolViolation`. A
receipt or journal attachment nested too deep or too large is a typed `ReceiptError`.
"""

from __future__ import annotations

import asyncio
import json

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aura_choreo.errors import ProtocolViolation, ReceiptError
from aura_choreo.guards.chain import Attachments
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.runner import run_session
from aura_choreo.runtime.wire import (
    KIND_DATA,
    WIRE_VERSION,
    Envelope,
    WireError,
    decode_envelope,
    decode_payload,
    decode_value,
    encode_envelope,
    encode_payload,
)
from aura_choreo.transports.inmemory import InMemoryTransport

NESTED = b"\x91" * 1000 + b"\xc0"  # [[[...[nil]...]]], 1 KB
PING = choreography("choreography P { roles: A, B; A -> B: Ping(n: i64); B -> A: Pong(n: i64); }")


def _valid_frame(payload: bytes = b"\x81\xa1n\x01", *, big: bool = False) -> bytes:
    return encode_envelope(
        Envelope(WIRE_VERSION, KIND_DATA, "s1", "P", "A", "B", "Ping", 1, msgspec.Raw(payload), big=big)
    )


def _feed(frames: list[bytes]) -> Node:
    """Hand every frame to a node's frame handler (no transport involved); return the node."""
    node = Node(InMemoryTransport(), "B")
    for frame in frames:
        node._on_frame("mallory", frame)  # the contract under test: never raises
    return node


def test_a_deeply_nested_payload_in_a_frame_is_garbage_not_a_recursion_error() -> None:
    node = _feed([_valid_frame(NESTED), NESTED, b"\x9d" + NESTED])
    assert node.stats.garbage == 3


def test_decoding_deep_nesting_or_an_unknown_extension_raises_a_wire_error() -> None:
    with pytest.raises(WireError):
        decode_value(b"\x91" * 5000 + b"\xc0")
    unknown_ext = msgspec.msgpack.encode(msgspec.msgpack.Ext(7, b"ab"))
    with pytest.raises(WireError):
        decode_value(unknown_ext)
    with pytest.raises(WireError):
        decode_envelope(_valid_frame(NESTED))


async def test_an_unknown_extension_type_in_a_big_payload_is_a_protocol_violation() -> None:
    bad = msgspec.msgpack.encode({"n": msgspec.msgpack.Ext(7, b"\x01")})
    transport = InMemoryTransport()
    session = PING.session()

    async def a(ep: Endpoint) -> None:
        frame = encode_envelope(
            Envelope(
                WIRE_VERSION, KIND_DATA, session.id, "P", "A", "B", "Ping", 1, msgspec.Raw(bad), big=True
            )
        )
        transport.post_frame(session.address("A"), session.address("B"), frame)
        await asyncio.sleep(3600)

    with pytest.raises(ProtocolViolation) as failed:
        await asyncio.wait_for(run_session(session, transport, {"A": a}), 5)
    assert failed.value.role == "B" and "bad payload" in str(failed.value)


class _Ping(msgspec.Struct):
    n: int


def test_a_payload_with_deep_nesting_raises_a_wire_error_on_either_path() -> None:
    for big in (False, True):
        with pytest.raises(WireError):
            decode_payload(msgspec.msgpack.Decoder(_Ping), _Ping, NESTED, big)


_FACT = b'{"device":"d","counter":1,"name":"n","lamport":1,"data":{}}'
DEEP_DATA = (
    b'[{"device":"d","counter":1,"name":"n","lamport":1,"data":{"k":' + b"[" * 900 + b"]" * 900 + b"}}]}"
)
TOO_LARGE = b'{"facts":[' + b",".join([_FACT] * 20_000) + b"]}"  # valid facts, 1.2 MB


@pytest.mark.parametrize("key", ["receipt", "journal"])
@pytest.mark.parametrize(
    "attachment", [b"[" * 100_000, DEEP_DATA, TOO_LARGE], ids=["deep", "deep-data", "large"]
)
def test_a_receipt_or_journal_attachment_too_deep_or_too_large_is_a_receipt_error(
    key: str, attachment: bytes
) -> None:
    with pytest.raises(ReceiptError):
        Attachments.from_wire({key: attachment})


def test_well_formed_attachments_still_decode_and_fact_data_must_be_scalars() -> None:
    delta = [{"device": "d", "counter": 1, "name": "n", "lamport": 1, "data": {"k": 1, "s": "[{"}}]
    decoded = Attachments.from_wire({"journal": json.dumps({"facts": delta, "known": {"d": 1}}).encode()})
    assert decoded.journal_delta is not None and len(decoded.journal_delta) == 1
    delta[0]["data"] = {"k": [1, [2]]}
    with pytest.raises(ReceiptError):
        Attachments.from_wire({"journal": json.dumps({"facts": delta}).encode()})


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise_from_the_frame_handler(frame: bytes) -> None:
    node = _feed([frame])
    assert node.stats.garbage + len(node._inboxes) + len(node._receiving) >= 0


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([_valid_frame(), _valid_frame(encode_payload({"n": 1 << 70})[0], big=True)]),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=8),
    st.integers(0, 64),
    st.sampled_from([b"", b"\x91" * 600, b"\xc7\x02\x07ab", b"\xdd\xff\xff\xff\xff"]),
)
def test_mutated_valid_frames_never_raise_and_garbage_is_counted(
    frame: bytes, flips: list[tuple[int, int]], cut: int, splice: bytes
) -> None:
    mutated = bytearray(frame)
    for index, value in flips:
        if mutated:
            mutated[index % len(mutated)] = value
    at = cut % (len(mutated) + 1)
    candidate = bytes(mutated[:at]) + splice + bytes(mutated[at:])
    node = _feed([candidate])
    try:
        decode_envelope(candidate)
    except WireError:
        assert node.stats.garbage == 1
