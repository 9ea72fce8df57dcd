"""The origin check of a deployed transport and the node share one decode of each data frame.

`frame_origin` reads (session, sender role) of each data frame for the carrier's check; the node then
decodes the same frame. `EnvelopeOrigin` keeps the envelope it decoded for the node's decode of that
very frame, so a frame is decoded once, with the same answers as decoding it twice.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest
from deploy_cluster import make_cluster

from aura_choreo.deployment import plan_deployment, run
from aura_choreo.deployment.run import EnvelopeOrigin, envelope_origin
from aura_choreo.guards import load_policy
from aura_choreo.protocol import choreography
from aura_choreo.runtime import wire
from aura_choreo.runtime.wire import (
    KIND_DATA,
    NIL,
    WIRE_VERSION,
    Envelope,
    WireError,
    decode_envelope,
    encode_envelope,
)
from aura_choreo.transports.net.identity import load_identity


class CountingDecode:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, frame: bytes) -> Envelope:
        self.calls += 1
        return decode_envelope(frame)


def frame(session: str = "s1", sender: str = "Client", seq: int = 1) -> bytes:
    return encode_envelope(Envelope(WIRE_VERSION, KIND_DATA, session, "P", sender, "Server", "M", seq, NIL))


def test_a_checked_frame_is_decoded_once_for_the_check_and_the_node() -> None:
    decode = CountingDecode()
    origin = EnvelopeOrigin(decode)
    data = frame()
    assert origin(data) == ("s1", "Client")
    assert origin.decode(data) == decode_envelope(data)
    assert decode.calls == 1


def test_a_frame_the_check_did_not_see_is_decoded_by_the_node() -> None:
    decode = CountingDecode()
    origin = EnvelopeOrigin(decode)
    checked, local = frame(seq=1), frame(seq=2)
    origin(checked)  # dropped by the carrier, say: the next frame the node gets is another one
    assert origin.decode(local) == decode_envelope(local)
    assert origin.decode(local) == decode_envelope(local)  # not kept: decoded each time
    assert decode.calls == 3


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc1garbage",
        msgspec.msgpack.encode([WIRE_VERSION, KIND_DATA, "s1"]),  # too short for a head
        msgspec.msgpack.encode([WIRE_VERSION, KIND_DATA, "s1", "P", "Client"]),  # a head, no envelope
        frame()[:-1],  # truncated
        frame() + b"\x00",  # trailing bytes
        msgspec.msgpack.encode([WIRE_VERSION, KIND_DATA, "s1", "P", 7, "Server", "M", 1, None]),
    ],
)
def test_any_frame_gets_the_same_origin_and_node_decode_as_before(data: bytes) -> None:
    origin = EnvelopeOrigin()
    assert origin(data) == envelope_origin(data)
    try:
        expected: object = decode_envelope(data)
    except WireError as exc:
        expected = type(exc)
    try:
        got: object = origin.decode(data)
    except WireError as exc:
        got = type(exc)
    assert got == expected


class Counted:
    """A msgspec decoder that records every frame object it decodes."""

    def __init__(self, decoder: Any, frames: list[bytes]) -> None:
        self.decoder, self.frames = decoder, frames

    def decode(self, frame: bytes) -> Any:
        self.frames.append(frame)
        return self.decoder.decode(frame)


async def test_a_deployed_run_decodes_each_arriving_frame_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    protocol = choreography("protocol P {\n  roles: A, B\n  A -> B: Ping\n  B -> A: Pong\n  A -> B: Bye\n}\n")
    cluster = make_cluster(tmp_path, protocol.roles)
    policy = load_policy(cluster.policy)
    deployments = [
        plan_deployment(protocol, policy, load_identity(cluster.keys[role]), role, session="s1")
        for role in protocol.roles
    ]
    frames: list[bytes] = []  # every frame object decoded, by the origin check or by a node
    monkeypatch.setattr(wire, "ENVELOPE_DECODER", Counted(wire.ENVELOPE_DECODER, frames))
    monkeypatch.setattr(run, "_HEAD", Counted(run._HEAD, frames))
    outcomes = await asyncio.gather(
        *(run.run_deployed_role(d, connect_timeout=20, peer_timeout=20) for d in deployments)
    )
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert frames  # data frames and acks arrived
    assert len({id(f) for f in frames}) == len(frames)  # none decoded twice
