"""Session traces on a file journal are stored while the sessions run, in chunks, in order."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aura_choreo.guards import GuardExtension, parse_policy
from aura_choreo.journal import JournalStore
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.extensions import ExtensionRegistry
from aura_choreo.runtime.runner import run_session
from aura_choreo.runtime.trace import Trace
from aura_choreo.transports.inmemory import InMemoryTransport

SENDS = 12
PROTOCOL = choreography(
    f"""
    protocol Streamed {{
        roles: A, B;
        loop (count: {SENDS}) {{
            A[journal_facts = "sent"] -> B: Ping;
        }}
    }}
    """
)


def extension(path: Path | str, *, chunk: int) -> GuardExtension:
    policy = parse_policy(
        {
            "signing": False,
            "journal": str(path),
            "defaults": {"flow_limit": 10**6},
            "roles": {"A": "alice", "B": "bob"},
        }
    )
    chain = policy.build_chain(clock=lambda: 0.0)
    return GuardExtension(chain, device_of=policy.device_of, context_of=policy.context_of, trace_chunk=chunk)


async def test_a_running_sessions_events_are_on_disk_before_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    guards = extension(path, chunk=4)
    registry = guards.install(ExtensionRegistry())
    stored_while_running: list[int] = []

    async def a(ep: Endpoint) -> None:
        for _ in range(SENDS):
            await ep.send("B", "Ping")
            # Read by another connection: what a process killed now would leave on disk.
            with JournalStore(path) as reader:
                stored_while_running.append(len(reader.trace_events(ep.session.id)))

    session = PROTOCOL.session(extensions=registry)
    await asyncio.wait_for(run_session(session, InMemoryTransport(), {"A": a}), 60)
    assert stored_while_running[-1] > 0  # before the session ended
    assert stored_while_running == sorted(stored_while_running)
    assert guards.chain.store is not None
    expected = [e.to_json() for e in session.trace.events]
    assert guards.chain.store.trace_events(session.id) == expected  # each event once, in order
    guards.chain.store.close()


async def test_interleaved_sessions_sharing_a_trace_each_keep_their_events_in_order(tmp_path: Path) -> None:
    guards = extension(tmp_path / "journal.db", chunk=3)
    registry = guards.install(ExtensionRegistry())
    shared = Trace()
    sessions = [PROTOCOL.session(extensions=registry, trace=shared) for _ in range(4)]
    await asyncio.wait_for(asyncio.gather(*(run_session(s, InMemoryTransport()) for s in sessions)), 60)
    store = guards.chain.store
    assert store is not None
    for session in sessions:
        expected = [e.to_json() for e in shared.events if e.session == session.id]
        assert len(expected) == 2 * SENDS
        assert store.trace_events(session.id) == expected
    assert sorted(store.sessions()) == sorted(s.id for s in sessions)
    store.close()


async def test_an_in_memory_journal_stores_the_same_trace_when_the_session_ends() -> None:
    guards = extension(":memory:", chunk=3)
    registry = guards.install(ExtensionRegistry())
    session = PROTOCOL.session(extensions=registry)
    await asyncio.wait_for(run_session(session, InMemoryTransport()), 60)
    assert guards.chain.store is not None
    assert guards.chain.store.trace_events(session.id) == [e.to_json() for e in session.trace.events]
