"""A send the transport refused and a retry then delivered keeps its fact and receipt (#11 item 11)."""

from __future__ import annotations

import asyncio

from aura_choreo.errors import TransportError
from aura_choreo.guards import build_guard_extension, parse_policy
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint, SendFailed
from aura_choreo.runtime.extensions import ExtensionRegistry
from aura_choreo.runtime.middleware import RetryMiddleware
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

PROTOCOL = choreography(
    """
    protocol Twice {
        roles: A, B;
        A[journal_facts = "first"] -> B: One;
        A[journal_facts = "second", journal_merge = true] -> B: Two;
        B -> A: Done;
    }
    """
)


class RefusesNth(InMemoryTransport):
    """Refuses the `nth` frame posted (1-based) once."""

    def __init__(self, nth: int) -> None:
        super().__init__()
        self.nth = nth
        self.posted = 0

    def post_frame(self, sender: str, to: str, frame: bytes) -> None:
        self.posted += 1
        if self.posted == self.nth:
            raise TransportError("link down")
        super().post_frame(sender, to, frame)


def guarded_session():  # type: ignore[no-untyped-def]
    extension = build_guard_extension(parse_policy({}), clock=lambda: 0.0)
    return extension, PROTOCOL.session(extensions=extension.install(ExtensionRegistry()))


async def test_a_send_retried_by_the_middleware_keeps_its_fact_and_the_receipt_chain() -> None:
    extension, session = guarded_session()

    def retry(inner):  # type: ignore[no-untyped-def]
        return RetryMiddleware(inner, attempts=3, base_delay=0.0001)

    await asyncio.wait_for(run_session(session, RefusesNth(1), middleware=[retry]), 5)
    chain = extension.chain
    assert [f.name for f in chain.device("A").journal.facts() if f.id.device == "A"] == ["first", "second"]
    assert {f.name for f in chain.device("B").journal.facts()} >= {"first", "second"}
    assert chain.metrics.receipts_rejected == 0
    assert chain.metrics.receipts_verified == 3
    assert chain.metrics.sends_committed == 3


async def test_a_send_retried_by_hand_keeps_its_fact_and_the_receipt_chain() -> None:
    extension, session = guarded_session()

    async def a(ep: Endpoint) -> None:
        try:
            await ep.send("B", "One")
        except SendFailed as failed:
            await failed.retry()
        await ep.send("B", "Two")
        await ep.recv("B")

    await asyncio.wait_for(run_session(session, RefusesNth(1), {"A": a}), 5)
    chain = extension.chain
    assert [f.name for f in chain.device("A").journal.facts() if f.id.device == "A"] == ["first", "second"]
    assert chain.metrics.receipts_rejected == 0 and chain.metrics.receipts_verified == 3


async def test_a_retry_that_fails_again_then_succeeds_still_commits_once() -> None:
    extension, session = guarded_session()

    class RefusesTwice(InMemoryTransport):
        refused = 0

        def post_frame(self, sender: str, to: str, frame: bytes) -> None:
            if self.refused < 2:
                self.refused += 1
                raise TransportError("link down")
            super().post_frame(sender, to, frame)

    def retry(inner):  # type: ignore[no-untyped-def]
        return RetryMiddleware(inner, attempts=3, base_delay=0.0001)

    await asyncio.wait_for(run_session(session, RefusesTwice(), middleware=[retry]), 5)
    chain = extension.chain
    assert [f.name for f in chain.device("A").journal.facts() if f.id.device == "A"] == ["first", "second"]
    assert chain.metrics.receipts_rejected == 0 and chain.metrics.sends_committed == 3
