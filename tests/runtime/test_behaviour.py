"""Default behaviour: payloads synthesised from types, records for unknown types, enums for matches."""

from __future__ import annotations

import asyncio
import copy
import dataclasses

import pytest

from aura_choreo.errors import ProtocolViolation
from aura_choreo.projection.local_types import Choose, PayloadItem, iter_steps
from aura_choreo.protocol import choreography
from aura_choreo.runtime.behaviour import BehaviourAdapter, DefaultBehaviour, ProtocolHints
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.messages import UserTypes
from aura_choreo.runtime.runner import run_session
from aura_choreo.syntax.ast import TypeRef, UnionType
from aura_choreo.transports.inmemory import InMemoryTransport


def t(name: str, *args: TypeRef) -> TypeRef:
    return TypeRef(name, args)


def test_values_have_the_declared_python_types() -> None:
    behaviour = DefaultBehaviour(seed=1)
    assert type(behaviour.synthesise(t("u64"))) is int
    assert type(behaviour.synthesise(t("f64"))) is float
    assert type(behaviour.synthesise(t("String"))) is str
    assert type(behaviour.synthesise(t("bool"))) is bool
    assert type(behaviour.synthesise(t("Vec", t("u8")))) is bytes
    assert all(type(x) is int for x in behaviour.synthesise(t("std::vec::Vec", t("i32"))))
    assert isinstance(behaviour.synthesise(t("HashMap", t("String"), t("i32"))), dict)
    assert type(behaviour.synthesise(UnionType((t("int"), t("None"))))) is int


def test_same_seed_same_values() -> None:
    types = [t("u64"), t("String"), t("bool"), t("Vec", t("i32"))]
    first = [DefaultBehaviour(seed=7).synthesise(x) for x in types]
    assert first == [DefaultBehaviour(seed=7).synthesise(x) for x in types]


def test_hints_come_from_the_protocol_expressions() -> None:
    protocol = choreography(
        """
        choreography Hints {
            roles: A, B;
            loop { A -> B: Chunk(chunk: Chunk); if chunk.is_last { break; } }
            B -> A: Answer(vote: Vote);
            match vote { Vote::Yes => { A -> B: Go; } Vote::No => { A -> B: Stop; } }
        }
        """
    )
    hints = ProtocolHints.from_local_types(protocol.local_types().values())
    assert hints.fields["chunk"] == {"is_last"}
    assert set(hints.patterns["vote"]) == {"Vote::Yes", "Vote::No"}
    assert set(hints.patterns["Vote"]) == {"Vote::Yes", "Vote::No"}

    behaviour = DefaultBehaviour(seed=2, hints=hints)
    chunk = behaviour.synthesise(t("Chunk"), "chunk")
    assert set(chunk) == {"is_last"} and isinstance(chunk["is_last"], bool)
    assert behaviour.synthesise(t("Vote"), "vote") in {"Vote::Yes", "Vote::No"}
    assert behaviour.synthesise(t("Vote"), "ballot") in {"Vote::Yes", "Vote::No"}  # by type name


def test_payload_uses_field_names_and_bare_types_become_value() -> None:
    behaviour = DefaultBehaviour(seed=3)
    payload = (PayloadItem("n", t("i64")), PayloadItem(None, t("String")))
    fields = behaviour.payload(payload, {})
    assert set(fields) == {"n", "value"}


def test_adapter_prefers_user_methods_and_falls_back_to_the_default() -> None:
    class User:
        def Ping(self, env: dict[str, object]) -> dict[str, int]:
            return {"n": 99}

        def value_secret(self, env: dict[str, object]) -> int:
            return 42

    adapter = BehaviourAdapter(User(), DefaultBehaviour(seed=0))
    item = (PayloadItem("n", t("i64")),)
    assert adapter.payload("Ping", item, {}) == {"n": 99}
    assert set(adapter.payload("Pong", item, {})) == {"n"}  # type: ignore[arg-type]
    assert asyncio.run(adapter.value("secret", {})) == 42
    assert adapter.local("Nothing", (), {}) is None


def test_adapter_never_calls_private_methods() -> None:
    class Sneaky:
        def __init__(self) -> None:
            self.called = False

        def _Ping(self, env: dict[str, object]) -> None:
            self.called = True

    sneaky = Sneaky()
    BehaviourAdapter(sneaky, DefaultBehaviour()).payload("_Ping", (), {})
    assert not sneaky.called


def test_user_types_must_be_wire_compatible() -> None:
    @dataclasses.dataclass
    class Point:
        x: int
        y: int

    class Opaque:
        pass

    registry = UserTypes()
    assert registry.register(Point) is Point
    assert registry.get("geo::Point") is Point
    with pytest.raises(TypeError, match="cannot travel on the wire"):
        registry.register(Opaque)


async def test_registered_user_classes_are_decoded_and_checked() -> None:
    @dataclasses.dataclass
    class Point:
        x: int
        y: int

    registry = UserTypes()
    registry.register(Point)
    protocol = choreography("choreography Geo { roles: A, B; A -> B: At(p: Point); }")

    async def b(ep: Endpoint) -> object:
        return (await ep.recv("A")).p

    async def good(ep: Endpoint) -> None:
        await ep.send("B", ep.message("At", p=Point(1, 2)))

    session = protocol.session(user_types=registry)
    results = await run_session(session, InMemoryTransport(), {"A": good, "B": b})
    assert results["B"] == Point(1, 2)

    async def bad(ep: Endpoint) -> None:
        await ep.send("B", ep.message("At", p=(1, 2)))

    with pytest.raises(ProtocolViolation, match="p: tuple"):
        await run_session(protocol.session(user_types=registry), InMemoryTransport(), {"A": bad, "B": b})


async def test_a_fresh_adapter_on_a_restored_environment_asks_again_for_supplied_values() -> None:
    # A role restarted from its checkpoint gets its journaled environment back but a new adapter: the
    # custom loop's condition drawn before the crash must be drawn again, not kept for ever.
    protocol = choreography(
        """
        choreography Frames {
            roles: A, B;
            loop (custom: "has_more") { A -> B: Frame(n: u32); }
        }
        """
    )
    (choose,) = [s for s in iter_steps(protocol.local_types()["A"].steps) if isinstance(s, Choose)]

    class Once:
        def __init__(self, answer: bool) -> None:
            self.answer = answer

        def value_has_more(self, env: object) -> bool:
            return self.answer

    env: dict[str, object] = {}
    await BehaviourAdapter(Once(True), DefaultBehaviour()).provide_values(choose, env)
    assert env["has_more"] is True
    restored = copy.deepcopy(env)  # what a checkpoint gives back
    await BehaviourAdapter(Once(False), DefaultBehaviour()).provide_values(choose, restored)
    assert restored["has_more"] is False
