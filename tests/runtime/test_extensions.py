"""The extension registry: keyed by annotation, called at session start, send and receive."""

from __future__ import annotations

import pytest

from aura_choreo.errors import CapabilityDenied, ProtocolViolation
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.extensions import (
    Attachments,
    Extension,
    ExtensionRegistry,
    SessionContext,
    StepContext,
)
from aura_choreo.runtime.runner import run_session
from aura_choreo.runtime.trace import Trace
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
    session = PROTOCOL.session(extensions=registry)
    with pytest.raises(CapabilityDenied, match="admin") as caught:
        await run_session(session, transport)
    assert (caught.value.role, caught.value.capability) == ("B", "admin")
    # A is allowed and comes first, yet it sent nothing: every endpoint is checked before any runs.
    assert transport.frames_sent == 0
    assert len(session.trace) == 0


class Ends(Extension):
    """Records session starts and ends, and the trace events each end can see."""

    def __init__(self, refuse: str | None = None) -> None:
        self.refuse = refuse
        self.started: list[str] = []
        self.ended: list[tuple[str, bool, list[tuple[str, str]]]] = []

    def on_session_start(self, ctx: SessionContext) -> None:
        self.started.append(ctx.role)
        if ctx.role == self.refuse:
            raise CapabilityDenied(ctx.role, "admin", session=ctx.session)

    def on_session_end(self, ctx: SessionContext, trace: Trace, ok: bool) -> None:
        events = [(e.kind, e.label) for e in trace.for_session(ctx.session)]
        self.ended.append((ctx.role, ok, events))


async def test_every_endpoint_ends_once_with_the_session_trace() -> None:
    ends = Ends()
    registry = ExtensionRegistry()
    registry.register_all(ends)
    session = PROTOCOL.session(extensions=registry)
    await run_session(session, InMemoryTransport())
    assert sorted(ends.started) == ["A", "B"]
    assert sorted(role for role, _, _ in ends.ended) == ["A", "B"]
    assert all(ok for _, ok, _ in ends.ended)
    _, _, last_events = ends.ended[-1]
    assert last_events == [("send", "Tagged"), ("recv", "Tagged"), ("send", "Plain"), ("recv", "Plain")]


async def test_a_failed_session_ends_every_endpoint_not_ok() -> None:
    class Explode(Extension):
        def before_send(self, ctx: StepContext) -> Attachments | None:
            raise CapabilityDenied(ctx.role, "audit", session=ctx.session)

    ends = Ends()
    registry = ExtensionRegistry()
    registry.register_all(ends)
    registry.register(["audit_log"], Explode())
    with pytest.raises(CapabilityDenied):
        await run_session(PROTOCOL.session(extensions=registry), InMemoryTransport())
    assert sorted((role, ok) for role, ok, _ in ends.ended) == [("A", False), ("B", False)]


async def test_a_refused_session_ends_every_started_endpoint_not_ok() -> None:
    ends = Ends(refuse="B")
    registry = ExtensionRegistry()
    registry.register_all(ends)
    with pytest.raises(CapabilityDenied):
        await run_session(PROTOCOL.session(extensions=registry), InMemoryTransport())
    assert ends.started == ["A", "B"]
    assert [(role, ok, events) for role, ok, events in ends.ended] == [("A", False, []), ("B", False, [])]


async def test_a_later_extension_refusing_a_send_releases_the_earlier_ones() -> None:
    class Reserve(Extension):
        def __init__(self) -> None:
            self.reserved: set[str] = set()
            self.outcomes: list[tuple[str, bool]] = []

        def before_send(self, ctx: StepContext) -> Attachments | None:
            self.reserved.add(ctx.label)
            return None

        def after_send(self, ctx: StepContext, accepted: bool) -> None:
            self.reserved.discard(ctx.label)
            self.outcomes.append((ctx.label, accepted))

    class Deny(Extension):
        def before_send(self, ctx: StepContext) -> Attachments | None:
            raise CapabilityDenied(ctx.role, "audit", session=ctx.session)

    reserve, deny = Reserve(), Deny()
    registry = ExtensionRegistry()
    registry.register(["audit_log"], reserve)
    registry.register(["priority"], deny)
    transport = InMemoryTransport()
    with pytest.raises(CapabilityDenied):
        await run_session(PROTOCOL.session(extensions=registry), transport)
    assert reserve.outcomes == [("Tagged", False)]
    assert reserve.reserved == set()
    assert transport.frames_sent == 0


async def test_an_unencodable_payload_never_reaches_the_extensions() -> None:
    # The payload is encoded before the extensions prepare the send (#11 item 12): nothing to release.
    protocol = choreography("choreography U { roles: A, B; A[audit_log = 1] -> B: M(x: any); }")
    outcomes: list[object] = []

    class Watch(Extension):
        def before_send(self, ctx: StepContext) -> Attachments | None:
            outcomes.append("prepared")
            return None

        def after_send(self, ctx: StepContext, accepted: bool) -> None:
            outcomes.append(accepted)

    registry = ExtensionRegistry()
    registry.register(["audit_log"], Watch())
    session = protocol.session(extensions=registry)

    async def a(ep: Endpoint) -> None:
        await ep.send("B", ep.message("M", x=object()))

    with pytest.raises(ProtocolViolation, match="unencodable"):
        await run_session(session, InMemoryTransport(), {"A": a})
    assert outcomes == []
