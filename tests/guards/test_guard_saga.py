"""A guard denial inside a saga: the body fails at the denied send and the saga compensates."""

from __future__ import annotations

from aura_choreo.guards import build_guard_extension, parse_policy
from aura_choreo.protocol import choreography
from aura_choreo.runtime.extensions import ExtensionRegistry
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

SAGA = choreography(
    """
    protocol GuardedSaga {
        roles: Coordinator, Service;
        try {
            Coordinator[journal_facts = "reserved"] -> Service: Reserve;
            Service[flow_cost = 5000, journal_facts = "confirmed"] -> Coordinator: Confirm;
        } compensate {
            Coordinator[journal_facts = "released"] -> Service: Release;
        }
    }
    """
)


async def test_budget_denial_in_a_saga_body_runs_the_compensation() -> None:
    extension = build_guard_extension(parse_policy({"defaults": {"flow_limit": 1024}}), clock=lambda: 0.0)
    session = SAGA.session(extensions=extension.install(ExtensionRegistry()))
    await run_session(session, InMemoryTransport())
    store = extension.chain.store
    assert store is not None
    journaled = [(f.role, f.name) for owner in store.owners() for f in store.load_facts(owner)]
    # Confirm was denied (5000 > 1024): no fact for it; the compensation is journaled.
    assert journaled == [("Coordinator", "reserved"), ("Coordinator", "released")]
    labels = [e.label for e in session.trace if e.kind == "send"]
    assert "Confirm" not in labels
    assert labels[-1] == "Release"
    assert extension.chain.metrics.denials["flow"] == 1


async def test_the_same_saga_commits_when_the_budget_allows() -> None:
    policy = parse_policy({"defaults": {"flow_limit": 10_000}})
    extension = build_guard_extension(policy, clock=lambda: 0.0)
    session = SAGA.session(extensions=extension.install(ExtensionRegistry()))
    await run_session(session, InMemoryTransport())
    store = extension.chain.store
    assert store is not None
    journaled = sorted((f.role, f.name) for owner in store.owners() for f in store.load_facts(owner))
    assert journaled == [("Coordinator", "reserved"), ("Service", "confirmed")]
