"""`Extension.attachments_only`: an `on_receive` that only has work for messages carrying attachments
is not called for the others (decided when the endpoint is made, not per message)."""

from __future__ import annotations

from aura_choreo.protocol import choreography
from aura_choreo.runtime.extensions import Attachments, Extension, ExtensionRegistry, StepContext
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

PROTOCOL = choreography(
    """
    choreography Marked {
        roles: A, B;
        A[mark = "yes"] -> B: Marked;
        A -> B: Plain;
    }
    """
)


class Marker(Extension):
    """Attaches an `ext` entry to the sends annotated `mark`; records what it receives."""

    def __init__(self, *, attachments_only: bool) -> None:
        self.attachments_only = attachments_only
        self.received: list[tuple[str, dict[str, bytes]]] = []

    def before_send(self, ctx: StepContext) -> Attachments | None:
        return {"mark": b"1"} if ctx.annotation("mark") is not None else None

    def on_receive(self, ctx: StepContext, attachments: Attachments) -> None:
        self.received.append((ctx.label, dict(attachments)))


async def run(*extensions: Extension) -> None:
    registry = ExtensionRegistry()
    for extension in extensions:
        registry.register_all(extension)
    await run_session(PROTOCOL.session(extensions=registry), InMemoryTransport())


async def test_an_attachments_only_receiver_sees_only_messages_with_attachments() -> None:
    marker = Marker(attachments_only=True)
    await run(marker)
    assert marker.received == [("Marked", {"mark": b"1"})]


async def test_a_receiver_that_wants_every_message_still_gets_every_one() -> None:
    only, every = Marker(attachments_only=True), Marker(attachments_only=False)
    await run(only, every)
    assert every.received == [("Marked", {"mark": b"1"}), ("Plain", {})]
    assert only.received[0] == ("Marked", {"mark": b"1"})  # (called for the plain one too: harmless)


def test_the_registry_says_whether_some_receiver_wants_plain_messages() -> None:
    registry = ExtensionRegistry()
    assert not registry.receives_plain_messages()
    registry.register_all(Extension())  # no on_receive of its own
    registry.register_all(Marker(attachments_only=True))
    assert not registry.receives_plain_messages()
    registry.register_all(Marker(attachments_only=False))
    assert registry.receives_plain_messages()
