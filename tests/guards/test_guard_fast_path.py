"""The fast path of default-profile sends and the per-label guard plans (issue 19)."""

from __future__ import annotations

import asyncio

import pytest

from aura_choreo.errors import BudgetExhausted, CapabilityDenied, TransportError
from aura_choreo.guards import GuardProfile, build_guard_extension, parse_policy
from aura_choreo.guards.extension import GuardExtension
from aura_choreo.guards.profile import GuardPlan
from aura_choreo.projection.local_types import AnnotationMap
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint, SendFailed
from aura_choreo.runtime.extensions import ExtensionRegistry
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

PLAIN = choreography(
    """
    protocol Plain {
        roles: A, B;
        A -> B: One;
        A -> B: Two;
        B -> A: Done;
    }
    """
)


def extension(*, signing: bool = False, flow_limit: int = 1024) -> GuardExtension:
    policy = parse_policy(
        {"signing": signing, "defaults": {"flow_limit": flow_limit}, "roles": {"A": "alice", "B": "bob"}}
    )
    return build_guard_extension(policy, clock=lambda: 0.0)


def test_plans_say_which_stages_have_work() -> None:
    assert GuardPlan.of(GuardProfile()).counter_only
    for profile in (
        GuardProfile(capabilities=("x",)),
        GuardProfile(journal_facts=("f",)),
        GuardProfile(journal_merge=True),
    ):
        assert not GuardPlan.of(profile).counter_only


async def test_default_profile_sends_pay_only_their_flow_cost() -> None:
    guards = extension()
    await asyncio.wait_for(run_session(PLAIN.session(extensions=guards.install(ExtensionRegistry())),
                                       InMemoryTransport()), 5)  # fmt: skip
    chain = guards.chain
    assert chain.device("alice").flow.budget("Plain", "bob").spent == 2
    assert chain.device("bob").flow.budget("Plain", "alice").spent == 1
    assert chain.metrics.sends_prepared == chain.metrics.sends_committed == 3
    assert chain.metrics.stage_evaluations["flow"] == 3
    assert chain.metrics.stage_evaluations["receipt"] == 0  # nothing signed, nothing to verify
    assert len(chain.device("alice").journal) == 0


async def test_the_fast_path_denies_an_exhausted_budget_naming_the_step() -> None:
    guards = extension(flow_limit=1)
    session = PLAIN.session(extensions=guards.install(ExtensionRegistry()))
    with pytest.raises(BudgetExhausted) as denied:
        await asyncio.wait_for(run_session(session, InMemoryTransport()), 5)
    error = denied.value
    assert error.role == "A" and "Two" in str(error.step)
    assert guards.chain.metrics.denials["flow"] == 1
    assert (
        guards.chain.device("alice").flow.budget("Plain", "bob").spent == 1
    )  # the denial charged nothing


async def test_a_refused_fast_send_retried_commits_once() -> None:
    guards = extension()
    session = PLAIN.session(extensions=guards.install(ExtensionRegistry()))

    class RefusesFirst(InMemoryTransport):
        refused = False

        def post_frame(self, sender: str, to: str, frame: bytes) -> None:
            if not self.refused:
                self.refused = True
                raise TransportError("link down")
            super().post_frame(sender, to, frame)

    async def a(ep: Endpoint) -> None:
        try:
            await ep.send("B", "One")
        except SendFailed as failed:
            await failed.retry()
        await ep.send("B", "Two")
        await ep.recv("B")

    await asyncio.wait_for(run_session(session, RefusesFirst(), {"A": a}), 5)
    metrics = guards.chain.metrics
    assert (metrics.sends_refused, metrics.sends_committed, metrics.sends_aborted) == (1, 3, 0)


async def test_a_guard_registered_after_the_first_session_applies_to_the_next() -> None:
    guards = extension()
    registry = guards.install(ExtensionRegistry())
    await asyncio.wait_for(run_session(PLAIN.session(extensions=registry), InMemoryTransport()), 5)
    guards.register_message_guard("Two", GuardProfile(capabilities=("secret",)))
    with pytest.raises(CapabilityDenied):
        await asyncio.wait_for(run_session(PLAIN.session(extensions=registry), InMemoryTransport()), 5)


async def test_signed_default_sends_still_carry_verified_receipts() -> None:
    guards = extension(signing=True)
    await asyncio.wait_for(run_session(PLAIN.session(extensions=guards.install(ExtensionRegistry())),
                                       InMemoryTransport()), 5)  # fmt: skip
    assert guards.chain.metrics.receipts_issued == guards.chain.metrics.receipts_verified == 3


async def test_interleaved_sessions_charge_their_own_budget_contexts() -> None:
    # The extension keeps the budget context of the last (protocol, session) it was asked for: sends
    # of concurrent sessions, interleaved, must still charge each session's own context.
    policy = parse_policy({"signing": False, "context": "session", "roles": {"A": "alice", "B": "bob"}})
    guards = build_guard_extension(policy, clock=lambda: 0.0)
    registry = guards.install(ExtensionRegistry())
    sessions = [PLAIN.session(extensions=registry) for _ in range(3)]
    await asyncio.wait_for(asyncio.gather(*(run_session(s, InMemoryTransport()) for s in sessions)), 5)
    alice = guards.chain.device("alice").flow
    assert [alice.budget(s.id, "bob").spent for s in sessions] == [2, 2, 2]
    assert alice.budget("Plain", "bob").spent == 0


def test_an_unsigned_guard_only_receives_messages_with_attachments() -> None:
    # Unsigned, a message without a journal delta has nothing to check or merge; signed, a message
    # without a receipt must be rejected, so every message is checked.
    assert extension(signing=False).attachments_only
    assert not extension(signing=True).attachments_only
    assert not extension(signing=False).install(ExtensionRegistry()).receives_plain_messages()
    assert extension(signing=True).install(ExtensionRegistry()).receives_plain_messages()


def test_a_route_holding_its_flow_cell_sees_a_merged_replica() -> None:
    from aura_choreo.guards.flow import FlowBudget
    from aura_choreo.guards.send import OutgoingSend

    chain = extension(flow_limit=10).chain
    send = OutgoingSend("p.P", "s1", "A", "alice", "B", "bob", "One", ())
    chain.commit(chain.prepare(send))  # the route now holds the (context, bob) cell
    ledger = chain.device("alice").flow
    ledger.merge_replica("p.P", "bob", FlowBudget(10, 9, 0))  # a replica spent 9 of 10
    chain.commit(chain.prepare(send))
    assert ledger.budget("p.P", "bob").spent == 10
    with pytest.raises(BudgetExhausted):
        chain.prepare(send)
    ledger.rotate_epoch()
    assert chain.prepare(send).budget_rows[0][2:] == (1, 1)  # the new epoch, charged once


def test_sends_prepared_before_either_is_told_commit_each_their_own_facts() -> None:
    # The extension keeps the last prepared send apart from the others in flight: a second send
    # prepared before the first is told (it waits on its transport) must not take its place.
    from aura_choreo.runtime.extensions import StepContext

    guards = extension()
    facts: AnnotationMap = (("flow_cost", 1), ("journal_facts", "sent"))

    def ctx(label: str, step: int) -> StepContext:
        return StepContext("Plain", "s1", "A", "alice", "B", label, facts, None, "send", step, "bob")

    one, two, three = ctx("One", 1), ctx("Two", 2), ctx("Three", 3)
    assert guards.before_send(one) is None and guards.before_send(two) is None
    assert guards.after_send(one, True) is None
    guards.after_send(two, False)  # refused: kept for a retry
    guards.after_send(two, True)  # the retry went through
    guards.after_send(two, True)  # told again: nothing is in flight for it any more
    guards.before_send(three)
    guards.after_send(three, False)
    guards.before_send(ctx("Four", 4))  # a new send on the channel abandons the refused one
    journal = guards.chain.device("alice").journal
    assert [(f.label, f.id.counter) for f in journal.facts()] == [("One", 1), ("Two", 2)]
    metrics = guards.chain.metrics
    assert (metrics.sends_committed, metrics.sends_refused, metrics.sends_aborted) == (2, 2, 1)


def test_the_plain_path_times_one_send_in_sample_standing_for_the_sends_since(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A clock that moves by one second at every read: each timed send's flow stage takes 1 s, counted
    # once for the first send and SAMPLE times for each later timed one (1st, 17th, 33rd, ...).
    from aura_choreo.guards import route
    from aura_choreo.guards.metrics import SAMPLE
    from aura_choreo.guards.send import OutgoingSend

    ticks = iter(range(10**6))
    monkeypatch.setattr(route, "_clock", lambda: float(next(ticks)))
    chain = extension().chain
    annotations: AnnotationMap = (("flow_cost", 1), ("journal_facts", "sent"))
    send = OutgoingSend("p.P", "s1", "A", "alice", "B", "bob", "One", annotations)
    seen = []
    for _ in range(2 * SAMPLE + 1):
        chain.commit(chain.prepare(send))
        seen.append(chain.metrics.stage_seconds["flow"])
    assert seen[0] == 1 and seen[SAMPLE - 1] == 1  # the 1st send, timed for itself
    assert seen[SAMPLE] == 1 + SAMPLE  # the 17th, standing for the 16 since
    assert seen[2 * SAMPLE] == 1 + 2 * SAMPLE
    assert chain.metrics.sends_prepared == chain.metrics.sends_committed == 2 * SAMPLE + 1
