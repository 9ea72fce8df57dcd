"""The extension registry: keyed by annotation, called at session start, send and receive."""

from __future__ import annotations

import pytest

from aura_choreo.errors import CapabilityDenied
from aura_choreo.protocol import choreography
from aura_choreo.runtime.extensions import (
    Attachments,
    Extension,
    ExtensionRegistry,
    SessionContext,
    StepContext,
)
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

PROTOCOL = choreography(
    """
    choreography Audited {
        roles: A, B;
        A[audit_log = "yes", priority = "high"] -> B: Tagged(n: i64);
        B -> A: Plain;
    }
    """
)


class Recorder(Extension):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.received: list[Attachments] = []

    def on_session_start(self, ctx: SessionContext) -> None:
        self.calls.append(("start", ctx.role, ctx.local_type.role))

    def before_send(self, ctx: StepContext) -> Attachments | None:
        audit = ctx.annotation("audit_log")
        self.calls.append(("before", ctx.role, f"{ctx.label}->{ctx.peer} audit={audit}"))
        return {"receipt": b"signed", "journal": b"delta", "custom": b"x"}

    def after_send(self, ctx: StepContext, accepted: bool) -> None:
        self.calls.append(("after", ctx.role, f"{ctx.label} accepted={accepted}"))

    def on_receive(self, ctx: StepContext, attachments: Attachments) -> None:
        self.calls.append(("receive", ctx.role, ctx.label))
        self.received.append(dict(attachments))


def test_registry_lookups_are_by_annotation_key_and_each_extension_runs_once() -> None:
    registry = ExtensionRegistry()
    first, second, everywhere = Extension(), Extension(), Extension()
    registry.register(["audit_log", "priority"], first)
    registry.register(["priority"], second)
    registry.register_all(everywhere)
    assert registry.known_keys() == {"audit_log", "priority"}
    assert registry.for_step((("audit_log", "x"), ("priority", 1))) == (everywhere, first, second)
    assert registry.for_step(()) == (everywhere,)
    assert registry.extensions() == (everywhere, first, second)
    assert not registry.is_empty()
    assert ExtensionRegistry().is_empty()


async def test_hooks_run_for_annotated_steps_and_attachments_ride_the_envelope() -> None:
    recorder = Recorder()
    registry = ExtensionRegistry()
    registry.register(["audit_log"], recorder)
    session = PROTOCOL.session(extensions=registry)
    await run_session(session, InMemoryTransport())
    assert ("start", "A", "A") in recorder.calls and ("start", "B", "B") in recorder.calls
    steps = [c for c in recorder.calls if c[0] != "start"]
    assert steps == [
        ("before", "A", "Tagged->B audit=yes"),
        ("after", "A", "Tagged accepted=True"),
        ("receive", "B", "Tagged"),
    ]
    assert recorder.received == [{"receipt": b"signed", "journal": b"delta", "custom": b"x"}]


async def test_a_denial_in_before_send_stops_the_send() -> None:
    class Deny(Extension):
        def before_send(self, ctx: StepContext) -> Attachments | None:
            raise CapabilityDenied(ctx.role, "audit", session=ctx.session)

    registry = ExtensionRegistry()
    registry.register(["audit_log"], Deny())
    transport = InMemoryTransport()
    session = PROTOCOL.session(extensions=registry)
    with pytest.raises(CapabilityDenied) as caught:
        await run_session(session, transport)
    assert caught.value.role == "A"
    assert transport.frames_sent == 0


async def test_a_failing_session_start_refuses_the_session_before_any_message() -> None:
    class Refuse(Extension):
        def on_session_start(self, ctx: SessionContext) -> None:
            if ctx.role == "B":
                raise CapabilityDenied("B", "admin")

    registry = ExtensionRegistry()
    registry.register_all(Refuse())
    transport = InMemoryTransport()
    with pytest.raises(CapabilityDenied, match="admin"):
        await run_session(PROTOCOL.session(extensions=registry), transport)
