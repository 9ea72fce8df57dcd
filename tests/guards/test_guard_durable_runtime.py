"""Runtime sessions on a file journal: a send returns once its facts are on disk, and concurrent
sessions share the disk syncs (group commit)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aura_choreo.guards import build_guard_extension, parse_policy
from aura_choreo.journal import JournalStore
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.extensions import ExtensionRegistry
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

PROTOCOL = choreography(
    """
    protocol Durable {
        roles: A, B;
        loop (count: 4) {
            A[journal_facts = "sent"] -> B: Ping;
        }
    }
    """
)


async def test_concurrent_sessions_share_disk_syncs_and_every_send_waits_for_its_fact(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    policy = parse_policy(
        {
            "signing": False,
            "journal": str(path),
            "defaults": {"flow_limit": 10**6},
            "roles": {"A": "alice", "B": "bob"},
        }
    )
    extension = build_guard_extension(policy, clock=lambda: 0.0)
    registry = extension.install(ExtensionRegistry())
    store = extension.chain.store
    assert store is not None and store.durable
    on_disk_after_each_send: list[bool] = []

    async def a(ep: Endpoint) -> None:
        for sent in range(1, 5):
            await ep.send("B", "Ping")
            # The send has returned: its fact is already in the file (read by another connection).
            with JournalStore(path) as reader:
                facts = [f for f in reader.load_facts("alice") if f.session == ep.session.id]
            on_disk_after_each_send.append(len(facts) == sent)

    sessions = [PROTOCOL.session(extensions=registry) for _ in range(8)]
    await asyncio.wait_for(
        asyncio.gather(*(run_session(s, InMemoryTransport(), {"A": a}) for s in sessions)), 60
    )
    assert on_disk_after_each_send == [True] * 32
    assert store.group.items == 32 and store.group.batches < 32  # sends of different sessions shared
    assert extension.chain.metrics.facts_committed == 32
    assert len(extension.chain.device("alice").journal) == 32
    store.close()
