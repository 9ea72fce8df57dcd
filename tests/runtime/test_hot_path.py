"""The shortcuts of the in-memory hot path (issue 19) give the answers of the general path they skip."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from aura_choreo.projection.local_types import LocalType, Loop, Recv, Send, Timeout
from aura_choreo.projection.protocol_like import resolve_protocol
from aura_choreo.protocol import choreography
from aura_choreo.runtime import catalog as catalog_module
from aura_choreo.runtime.behaviour import DefaultBehaviour
from aura_choreo.runtime.messages import coerce_message
from aura_choreo.runtime.monitor import Monitor
from aura_choreo.runtime.node import Node, header_bound
from aura_choreo.runtime.runner import run_session
from aura_choreo.runtime.session_data import new_session_id
from aura_choreo.runtime.wire import KIND_DATA, WIRE_VERSION, Envelope
from aura_choreo.syntax.ast import Literal, TypeRef
from aura_choreo.syntax.payload import PayloadItem
from aura_choreo.transports.inmemory import InMemoryTransport
from aura_choreo.transports.simulated import SimulatedTransport


def _monitor(*steps: object) -> Monitor:
    return Monitor(LocalType("P", "A", tuple(steps)), session="s1")  # type: ignore[arg-type]


def test_plain_head_is_the_next_send_or_receive_of_straight_line_code() -> None:
    m = _monitor(Send("B", "Ping"), Recv("B", "Pong"), Send("B", "Bye"))
    assert m.plain_head(m.root) is None  # nothing settled yet: ask head_of
    assert m.head_of(m.root) == Send("B", "Ping")
    settled = m.settles
    m.on_send("B", "Ping")
    assert m.plain_head(m.root) == Recv("B", "Pong") == m.head_of(m.root)
    m.on_receive("B", "Pong")
    assert m.plain_head(m.root) == Send("B", "Bye")
    assert m.settles == settled  # straight-line steps settle nothing


def test_plain_head_is_none_where_a_block_starts_and_settling_is_counted() -> None:
    m = _monitor(Send("B", "Ping"), Timeout(100, (Recv("B", "Pong"),), (Send("C", "GaveUp"),)))
    m.head_of(m.root)
    settled = m.settles
    m.on_send("B", "Ping")
    assert m.plain_head(m.root) is None  # a timeout block comes next: the runner must arm it
    assert m.head_of(m.root) == Recv("B", "Pong")
    assert m.settles > settled
    assert len(m.scopes(m.root)) == 1


def test_plain_head_follows_a_counted_loop_round_after_round() -> None:
    m = _monitor(Loop(Literal(2), (Send("B", "Ping"), Recv("B", "Pong"))))
    m.head_of(m.root)
    m.on_send("B", "Ping")
    m.on_receive("B", "Pong")
    assert m.plain_head(m.root) == Send("B", "Ping")
    m.on_send("B", "Ping")
    m.on_receive("B", "Pong")
    assert m.plain_head(m.root) is None
    assert m.done


def test_default_payloads_keep_the_field_names_and_known_values_message_after_message() -> None:
    payload = (PayloadItem("n", TypeRef("i64")), PayloadItem("name", TypeRef("String")))
    one, other = DefaultBehaviour(3), DefaultBehaviour(3)
    assert [one.payload(payload, {}) for _ in range(3)] == [other.payload(payload, {}) for _ in range(3)]
    assert set(one.payload(payload, {})) == {"n", "name"}
    assert one.payload(payload, {}, {"n": 42})["n"] == 42


def _envelope(payload: bytes = b"\x91\x01", label: str = "Ping") -> Envelope:
    return Envelope(
        WIRE_VERSION, KIND_DATA, "s1", "P", "A", "B", label, 1, msgspec.Raw(payload), None, None, None,
        False, None,
    )  # fmt: skip


def _size(envelope: Envelope) -> int:
    return len(envelope.payload) + header_bound(
        envelope.session, envelope.protocol, envelope.sender, envelope.receiver, envelope.label
    )


async def test_hand_off_delivers_in_memory_at_once() -> None:
    transport = InMemoryTransport()
    async with Node(transport, "A") as a, Node(transport, "B") as b:
        inbox = b.inbox("s1", "B")
        envelope = _envelope()
        assert a.hand_off("B", envelope, _size(envelope))
        assert [e.label for _, e in inbox.queues["A"]] == ["Ping"]


async def test_hand_off_declines_a_frame_over_the_limit_and_send_then_refuses_it() -> None:
    transport = InMemoryTransport(max_frame=256)
    async with Node(transport, "A") as a, Node(transport, "B") as b:
        inbox = b.inbox("s1", "B")
        big = _envelope(b"\xc4\xff" + bytes(255))
        assert not a.hand_off("B", big, _size(big))
        assert not inbox.queues


async def test_hand_off_declines_other_transports() -> None:
    transport = SimulatedTransport(seed=1)
    async with Node(transport, "A") as a:
        envelope = _envelope()
        assert not a.hand_off("B", envelope, _size(envelope))


async def test_a_default_behaviour_ping_pong_records_every_step() -> None:
    protocol = choreography(
        "choreography P { roles: A, B; loop (count: 3) { A -> B: Ping(n: i64); B -> A: Pong(n: i64); } }"
    )
    session = protocol.session()
    await asyncio.wait_for(run_session(session, InMemoryTransport(), {}), 10)
    kinds = [(e.kind, e.label) for e in session.trace.events if e.role == "A"]
    assert kinds == [("send", "Ping"), ("recv", "Pong")] * 3


_TIMED = """
choreography Timed {
    roles: A, B;
    A -> B: Ping(n: i64);
    [@timeout = 250] B -> A: Pong(n: i64);
}
"""


def test_sessions_of_one_protocol_share_message_classes_and_step_specs() -> None:
    protocol = choreography(_TIMED)
    one, other = protocol.session(), protocol.session()
    assert one.catalog is other.catalog
    local_a = one.local_types["A"]
    send = local_a.steps[0]
    assert isinstance(send, Send)
    spec = one.catalog.step_spec(send, send.label, send.payload)
    assert spec is one.catalog.spec(send.label, send.payload)
    assert other.catalog.step_spec(send, send.label, send.payload) is spec


def test_equal_local_types_loaded_twice_share_one_catalog() -> None:
    assert choreography(_TIMED).session().catalog is choreography(_TIMED).session().catalog


def test_timed_receives_are_found_per_local_type() -> None:
    session = choreography(_TIMED).session()
    assert session.catalog.has_timed_receives(session.local_types["A"])
    assert not session.catalog.has_timed_receives(session.local_types["B"])


def test_resolve_protocol_tells_a_protocol_from_bare_local_types() -> None:
    protocol = choreography(_TIMED)
    by_protocol = resolve_protocol(protocol)
    assert by_protocol.name == protocol.qualified_name
    assert resolve_protocol(protocol.local_types()).local_types == by_protocol.local_types
    assert resolve_protocol(list(protocol.local_types().values())).name == by_protocol.name


def test_a_dict_of_fields_becomes_the_message_with_other_keys_ignored_and_a_missing_one_refused() -> None:
    session = choreography(_TIMED).session()
    spec = session.catalog.by_label("Ping")
    assert spec is not None
    assert coerce_message(spec, {"n": 3}) == spec.cls(3)
    assert coerce_message(spec, {"n": 3, "note": "x"}) == spec.cls(3)
    assert coerce_message(spec, {"note": "x"}) is None


def test_the_catalog_forgets_steps_of_protocols_loaded_again_and_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(catalog_module, "STEP_MEMO", 4)
    catalog = choreography(_TIMED).session().catalog
    for n in range(10):
        step = Send("B", "Ping", (PayloadItem("n", TypeRef("i64")),))
        assert catalog.step_spec(step, "Ping", step.payload).cls.__name__ == "Ping"
        assert len(catalog.step_specs) <= 4, n


def test_new_session_ids_are_sixteen_hex_digits_and_distinct() -> None:
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 16 and int(i, 16) >= 0 and i == i.lower() for i in ids)
