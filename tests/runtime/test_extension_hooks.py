"""Which extension hooks an endpoint calls: only the ones an extension has of its own (issue 19), with
the same step context and attachments as always."""

from __future__ import annotations

import pytest

from aura_choreo.protocol import choreography
from aura_choreo.runtime import endpoint_core
from aura_choreo.runtime.endpoint_core import EndpointCore
from aura_choreo.runtime.extensions import Attachments, Extension, ExtensionRegistry, StepContext
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

PROTOCOL = choreography(
    """
    choreography Hooked {
        roles: A, B;
        A[audit_log = "yes"] -> B: Tagged(n: i64);
        B -> A: Plain;
        A -> B: Again(n: i64);
    }
    """
)


class SendOnly(Extension):
    def __init__(self) -> None:
        self.sends: list[StepContext] = []

    def before_send(self, ctx: StepContext) -> Attachments | None:
        self.sends.append(ctx)
        return None


class Both(SendOnly):
    def __init__(self) -> None:
        super().__init__()
        self.receives: list[tuple[StepContext, dict[str, bytes]]] = []

    def before_send(self, ctx: StepContext) -> Attachments | None:
        super().before_send(ctx)
        return {"journal": b"delta"} if ctx.label == "Again" else None

    def on_receive(self, ctx: StepContext, attachments: Attachments) -> None:
        self.receives.append((ctx, dict(attachments)))


@pytest.fixture
def contexts_built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The receive-side step contexts the endpoints build (one entry per context)."""
    built: list[str] = []
    original = EndpointCore._step_context

    def counting(
        self: EndpointCore, peer: str, label: str, annotations: object, payload: object, direction: str
    ) -> StepContext:
        if direction == "recv":
            built.append(direction)
        return original(self, peer, label, annotations, payload, direction)

    def counting_new(cls: type[StepContext], fields: tuple[object, ...]) -> StepContext:
        if fields[8] == "recv":
            built.append("recv")
        return tuple.__new__(cls, fields)

    monkeypatch.setattr(EndpointCore, "_step_context", counting)
    monkeypatch.setattr(endpoint_core, "new_context", counting_new, raising=False)
    return built


async def test_a_send_only_extension_builds_no_receive_context(contexts_built: list[str]) -> None:
    extension = SendOnly()
    registry = ExtensionRegistry()
    registry.register_all(extension)
    await run_session(PROTOCOL.session(extensions=registry), InMemoryTransport())
    assert [ctx.label for ctx in extension.sends] == ["Tagged", "Plain", "Again"]
    assert contexts_built == []


async def test_an_extension_with_a_receive_hook_gets_every_receive(contexts_built: list[str]) -> None:
    extension = Both()
    registry = ExtensionRegistry()
    registry.register_all(extension)
    await run_session(PROTOCOL.session(extensions=registry), InMemoryTransport())
    assert contexts_built == ["recv", "recv", "recv"]
    assert [(ctx.label, attachments) for ctx, attachments in extension.receives] == [
        ("Tagged", {}),
        ("Plain", {}),
        ("Again", {"journal": b"delta"}),
    ]


async def test_a_hook_set_on_the_instance_counts_as_its_own() -> None:
    seen: list[str] = []
    extension = Extension()
    extension.on_receive = lambda ctx, attachments: seen.append(ctx.label)  # type: ignore[method-assign]
    registry = ExtensionRegistry()
    registry.register_all(extension)
    await run_session(PROTOCOL.session(extensions=registry), InMemoryTransport())
    assert seen == ["Tagged", "Plain", "Again"]


async def test_step_contexts_carry_every_field_of_the_step() -> None:
    extension = Both()
    registry = ExtensionRegistry()
    registry.register_all(extension)
    session = PROTOCOL.session(extensions=registry)
    await run_session(session, InMemoryTransport())
    sid, name = session.id, session.protocol
    tagged = (("audit_log", "yes"),)
    sends = [tuple(ctx) for ctx in extension.sends]
    payloads = [ctx.payload for ctx in extension.sends]
    assert [s[:7] + s[8:] for s in sends] == [
        (name, sid, "A", "A", "B", "Tagged", tagged, "send", 1, "B"),
        (name, sid, "B", "B", "A", "Plain", (), "send", 2, "A"),
        (name, sid, "A", "A", "B", "Again", (), "send", 3, "B"),
    ]
    received = [tuple(ctx) for ctx, _ in extension.receives]
    assert [r[:7] + r[8:] for r in received] == [
        (name, sid, "B", "B", "A", "Tagged", tagged, "recv", 1, "A"),
        (name, sid, "A", "A", "B", "Plain", (), "recv", 2, "B"),
        (name, sid, "B", "B", "A", "Again", (), "recv", 3, "A"),
    ]
    assert [getattr(p, "n", None) for p in payloads] == [getattr(r[7], "n", None) for r in received]
    assert all(type(ctx) is StepContext for ctx, _ in extension.receives)
    assert all(type(ctx) is StepContext for ctx in extension.sends)
