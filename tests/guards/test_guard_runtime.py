"""The guard extension inside the runtime: imperative endpoints over the in-memory transport."""

from __future__ import annotations

import asyncio

import pytest

from aura_choreo.errors import BudgetExhausted, CapabilityDenied, TransportError
from aura_choreo.guards import GuardExtension, LeakageVector, build_guard_extension, parse_policy
from aura_choreo.projection.local_types import AnnotationMap, LocalType, Recv, Send
from aura_choreo.protocol import choreography
from aura_choreo.runtime.extensions import ExtensionRegistry
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.runner import run_session
from aura_choreo.runtime.session import Session, start_session
from aura_choreo.transports.inmemory import InMemoryTransport

GRANT: AnnotationMap = (
    ("guard_capability", "admin, audit"),
    ("flow_cost", 300),
    ("leakage_budget", (0, 0, 1)),
    ("journal_facts", "granted"),
)
ACK: AnnotationMap = (("journal_facts", "acked"), ("journal_merge", True))


def local_types() -> list[LocalType]:
    roles = ("Admin", "User")
    admin = LocalType(
        "t.Grant", "Admin", (Send("User", "Grant", (), GRANT), Recv("User", "Ack", (), ACK)), roles
    )
    user = LocalType(
        "t.Grant", "User", (Recv("Admin", "Grant", (), GRANT), Send("Admin", "Ack", (), ACK)), roles
    )
    return [admin, user]


def guards(caps: list[str], *, flow_limit: int = 1024) -> GuardExtension:
    return build_guard_extension(
        parse_policy(
            {
                "defaults": {"flow_limit": flow_limit},
                "devices": {"alice": {"capabilities": caps}},
                "roles": {"Admin": "alice", "User": "bob"},
            }
        ),
        clock=lambda: 0.0,
    )


async def run(extension: GuardExtension, transport: InMemoryTransport, *, rounds: int = 1) -> str:
    registry = extension.install(ExtensionRegistry())
    session = start_session(local_types(), extensions=registry, devices={"Admin": "alice", "User": "bob"})
    async with Node(transport, "alice") as alice, Node(transport, "bob") as bob:
        for _ in range(rounds):
            current = session.another()

            async def admin(current: Session = current) -> None:
                async with current.endpoint("Admin", alice) as ep:
                    await ep.send("User", "Grant")
                    await ep.recv("User")

            async def user(current: Session = current) -> None:
                async with current.endpoint("User", bob) as ep:
                    await ep.recv("Admin")
                    await ep.send("Admin", "Ack")

            async with asyncio.TaskGroup() as group:
                group.create_task(admin())
                group.create_task(user())
    return current.id


async def test_guarded_session_runs_and_journals_the_facts() -> None:
    extension = guards(["admin", "audit"])
    session_id = await run(extension, InMemoryTransport())
    chain = extension.chain
    alice = chain.device("alice").journal.facts()
    assert [(f.id.device, f.name, f.label, f.role, f.session) for f in alice] == [
        ("alice", "granted", "Grant", "Admin", session_id),
        ("bob", "acked", "Ack", "User", session_id),
    ]
    assert [f.name for f in chain.device("bob").journal.facts()] == ["acked"]
    assert chain.metrics.receipts_verified == 2
    assert chain.metrics.facts_merged == 1
    assert chain.device("alice").flow.budget("t.Grant", "bob").spent == 300
    assert chain.device("bob").flow.budget("t.Grant", "alice").spent == 100  # annotated, no flow_cost
    assert chain.device("alice").leakage.layers[0].ledger.spent("t.Grant") == LeakageVector(0, 0, 1)


async def test_merged_facts_are_durable_in_the_receivers_journal() -> None:
    extension = guards(["admin", "audit"])
    await run(extension, InMemoryTransport())
    assert extension.chain.store is not None
    stored = extension.chain.store.load_facts("alice")
    assert [(f.id.device, f.name) for f in stored] == [("alice", "granted"), ("bob", "acked")]


async def test_session_traces_are_stored_with_the_journal() -> None:
    extension = guards(["admin", "audit"])
    session_id = await run(extension, InMemoryTransport())
    assert extension.chain.store is not None
    events = extension.chain.store.trace_events(session_id)
    assert [(e["kind"], e["label"]) for e in events] == [
        ("send", "Grant"),
        ("recv", "Grant"),
        ("send", "Ack"),
        ("recv", "Ack"),
    ]


async def test_missing_capability_refuses_the_session_before_any_message() -> None:
    transport = InMemoryTransport()
    extension = guards(["admin"])
    with pytest.raises(ExceptionGroup) as failed:
        await run(extension, transport)
    denied = failed.value.subgroup(CapabilityDenied)
    assert denied is not None
    error = denied.exceptions[0]
    assert isinstance(error, CapabilityDenied)
    assert (error.role, error.capability) == ("Admin", "audit")
    assert transport.frames_sent == 0


async def test_budget_exhaustion_surfaces_at_the_sending_endpoint() -> None:
    transport = InMemoryTransport()
    extension = guards(["admin", "audit"], flow_limit=500)
    with pytest.raises(ExceptionGroup) as failed:
        await run(extension, transport, rounds=2)
    exhausted = failed.value.subgroup(BudgetExhausted)
    assert exhausted is not None
    error = exhausted.exceptions[0]
    assert isinstance(error, BudgetExhausted)
    assert error.role == "Admin" and error.session is not None
    # The second Grant never reached the wire, and wrote no fact.
    assert [f.name for f in extension.chain.device("alice").journal.facts() if f.id.device == "alice"] == [
        "granted"
    ]


async def test_refused_frame_writes_no_fact_but_charges_leakage() -> None:
    transport = InMemoryTransport(max_frame=64)
    extension = guards(["admin", "audit"])
    with pytest.raises(ExceptionGroup) as failed:
        await run(extension, transport)
    assert failed.value.subgroup(TransportError) is not None
    chain = extension.chain
    assert chain.device("alice").journal.facts() == []
    assert chain.device("alice").leakage.layers[0].ledger.spent("t.Grant") == LeakageVector(0, 0, 1)
    assert chain.metrics.sends_aborted == 1


async def test_parallel_sends_of_one_role_each_commit_their_own_facts() -> None:
    protocol = choreography(
        """
        protocol Fan {
            roles: A, B, C;
            parallel {
                A[journal_facts = "to_b", journal_merge = true] -> B: X;
                A[journal_facts = "to_c"] -> C: Y;
            }
            B -> A: Done;
        }
        """
    )
    extension = build_guard_extension(parse_policy({}), clock=lambda: 0.0)
    session = protocol.session(extensions=extension.install(ExtensionRegistry()))
    await run_session(session, InMemoryTransport())
    facts = extension.chain.device("A").journal.facts()
    assert sorted((f.name, f.label) for f in facts if f.id.device == "A") == [("to_b", "X"), ("to_c", "Y")]
    assert [f.id.counter for f in facts if f.id.device == "A"] == [1, 2]
    assert "to_b" in {f.name for f in extension.chain.device("B").journal.facts()}
    assert extension.chain.metrics.sends_committed == 3


async def test_capability_revoked_mid_session_denies_the_next_send() -> None:
    protocol = choreography(
        """
        protocol Revoke {
            roles: Admin, User;
            Admin[guard_capability = "admin"] -> User: First;
            User -> Admin: Ack;
            Admin[guard_capability = "admin"] -> User: Second;
        }
        """
    )
    extension = build_guard_extension(parse_policy({"devices": {"Admin": {"capabilities": ["admin"]}}}))

    class UserRevokesOnAck:
        def Ack(self, env: object) -> None:  # the User's behaviour builds Ack: revoke right then
            extension.chain.revoke("Admin", "admin")

    session = protocol.session(extensions=extension.install(ExtensionRegistry()))
    with pytest.raises(CapabilityDenied) as denied:
        await run_session(session, InMemoryTransport(), {"User": UserRevokesOnAck()})
    assert (denied.value.role, denied.value.capability) == ("Admin", "admin")
    assert [e.label for e in session.trace if e.kind == "send"] == ["First", "Ack"]


async def test_run_session_stores_the_session_trace_in_the_journal_by_itself() -> None:
    extension = guards(["admin", "audit"])
    registry = extension.install(ExtensionRegistry())
    session = start_session(local_types(), extensions=registry, devices={"Admin": "alice", "User": "bob"})
    await run_session(session, InMemoryTransport())
    assert extension.chain.store is not None
    stored = extension.chain.store.trace_events(session.id)
    assert stored == [event.to_json() for event in session.trace]
    assert [(e["kind"], e["role"], e["label"]) for e in stored] == [
        ("send", "Admin", "Grant"),
        ("recv", "User", "Grant"),
        ("send", "User", "Ack"),
        ("recv", "Admin", "Ack"),
    ]


async def test_a_failed_session_still_stores_what_happened() -> None:
    extension = guards(["admin", "audit"], flow_limit=500)
    registry = extension.install(ExtensionRegistry())
    first = start_session(local_types(), extensions=registry, devices={"Admin": "alice", "User": "bob"})
    await run_session(first, InMemoryTransport())
    second = first.another()
    with pytest.raises(BudgetExhausted):
        await run_session(second, InMemoryTransport())
    assert extension.chain.store is not None
    assert extension.chain.store.trace_events(second.id) == []  # the refused send was never recorded
    assert len(extension.chain.store.trace_events(first.id)) == 4  # stored once, not once per endpoint


async def test_run_session_refuses_a_later_roles_missing_capability_before_any_frame() -> None:
    # Admin (started first) holds what it needs; User's device lacks `audit` for its Ack.
    audited_ack: AnnotationMap = (("guard_capability", "audit"), *ACK)
    roles = ("Admin", "User")
    admin = LocalType(
        "t.Grant", "Admin", (Send("User", "Grant", (), GRANT), Recv("User", "Ack", (), audited_ack)), roles
    )
    user = LocalType(
        "t.Grant", "User", (Recv("Admin", "Grant", (), GRANT), Send("Admin", "Ack", (), audited_ack)), roles
    )
    policy = {
        "devices": {"alice": {"capabilities": ["admin", "audit"]}, "bob": {"capabilities": []}},
        "roles": {"Admin": "alice", "User": "bob"},
    }
    extension = build_guard_extension(parse_policy(policy), clock=lambda: 0.0)
    registry = extension.install(ExtensionRegistry())
    session = start_session([admin, user], extensions=registry, devices={"Admin": "alice", "User": "bob"})
    transport = InMemoryTransport()
    with pytest.raises(CapabilityDenied) as denied:
        await run_session(session, transport)
    assert (denied.value.role, denied.value.capability, denied.value.session) == ("User", "audit", session.id)
    assert transport.frames_sent == 0
    assert len(session.trace) == 0
    assert extension.chain.device("alice").journal.facts() == []
    assert extension.chain.store is not None and extension.chain.store.trace_events(session.id) == []
