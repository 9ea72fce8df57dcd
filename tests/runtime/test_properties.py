"""Property tests: FIFO delivery under any scheduling, par interleavings, lossless payload encoding."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aura_choreo.errors import ProtocolViolation
from aura_choreo.projection.local_types import LocalType, Par, PayloadItem, Recv, Send
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.messages import build_spec
from aura_choreo.runtime.monitor import Monitor
from aura_choreo.runtime.runner import run_session
from aura_choreo.runtime.wire import decode_payload, encode_payload
from aura_choreo.syntax.ast import TypeRef
from aura_choreo.transports.inmemory import InMemoryTransport

COUNT = 12
STREAM = choreography(
    f"choreography S {{ roles: A, B; loop (count: {COUNT}) {{ A -> B: Item(n: i64); }}; B -> A: Done; }}"
)


@settings(max_examples=40, deadline=None)
@given(
    sender_yields=st.lists(st.integers(0, 2), min_size=COUNT, max_size=COUNT),
    receiver_yields=st.lists(st.integers(0, 2), min_size=COUNT, max_size=COUNT),
)
def test_every_message_arrives_once_in_order_whatever_the_scheduling(
    sender_yields: list[int], receiver_yields: list[int]
) -> None:
    async def a(ep: Endpoint) -> None:
        for n, pause in enumerate(sender_yields):
            await ep.send("B", ep.message("Item", n=n))
            for _ in range(pause):
                await asyncio.sleep(0)
        await ep.recv("B")

    async def b(ep: Endpoint) -> list[int]:
        got = []
        for pause in receiver_yields:
            for _ in range(pause):
                await asyncio.sleep(0)
            got.append((await ep.recv("A")).n)
        await ep.send("A", "Done")
        return got

    results = asyncio.run(run_session(STREAM.session(), InMemoryTransport(), {"A": a, "B": b}))
    assert results["B"] == list(range(COUNT))


BRANCH_X = [("send", "B", "X1"), ("recv", "B", "X2"), ("send", "B", "X3")]
BRANCH_Y = [("recv", "C", "Y1"), ("send", "C", "Y2")]


def _par_monitor() -> Monitor:
    def step(kind: str, peer: str, label: str) -> Send | Recv:
        return Send(peer, label) if kind == "send" else Recv(peer, label)

    par = Par((tuple(step(*e) for e in BRANCH_X), tuple(step(*e) for e in BRANCH_Y)))
    return Monitor(LocalType("P", "A", (par, Send("B", "After"))))


def _apply(monitor: Monitor, event: tuple[str, str, str]) -> None:
    kind, peer, label = event
    if kind == "send":
        monitor.on_send(peer, label)
    else:
        monitor.on_receive(peer, label)


@settings(max_examples=60, deadline=None)
@given(st.permutations([0] * len(BRANCH_X) + [1] * len(BRANCH_Y)))
def test_par_accepts_every_interleaving_of_its_branches(order: list[int]) -> None:
    monitor = _par_monitor()
    branches = [iter(BRANCH_X), iter(BRANCH_Y)]
    for which in order:
        _apply(monitor, next(branches[which]))
    monitor.on_send("B", "After")
    assert monitor.done


@settings(max_examples=60, deadline=None)
@given(st.permutations(BRANCH_X + BRANCH_Y))
def test_par_rejects_an_order_that_breaks_a_branch(order: list[tuple[str, str, str]]) -> None:
    respects = order.index(BRANCH_X[0]) < order.index(BRANCH_X[1]) < order.index(BRANCH_X[2]) and (
        order.index(BRANCH_Y[0]) < order.index(BRANCH_Y[1])
    )
    monitor = _par_monitor()
    if respects:
        for event in order:
            _apply(monitor, event)
        return
    with pytest.raises(ProtocolViolation):
        for event in order:
            _apply(monitor, event)


_values = st.recursive(
    st.one_of(st.integers(), st.text(max_size=8), st.booleans(), st.none(), st.floats(allow_nan=False)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(), anything=_values)
def test_payloads_survive_the_wire_including_integers_beyond_64_bits(n: int, anything: Any) -> None:
    spec = build_spec("M", (PayloadItem("n", TypeRef("i128")), PayloadItem("x", None)))
    message = spec.cls(n, anything)
    data, big = encode_payload(message)
    decoded = decode_payload(spec.decoder, spec.cls, msgspec.Raw(data), big)
    assert decoded == message
