"""Every construct runs end to end in memory, with user code and with the default behaviour."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from aura_choreo.protocol import Protocol, choreography
from aura_choreo.runtime.behaviour import DefaultBehaviour, ProtocolHints
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.runner import run_session
from aura_choreo.runtime.session import Session
from aura_choreo.runtime.trace import Trace
from aura_choreo.transports.inmemory import InMemoryTransport

pytestmark = pytest.mark.virtual_time  # sleeps and peer deadlines take virtual time, not wall-clock time


async def run(session: Session, **roles: object) -> dict[str, Any]:
    return await run_session(session, InMemoryTransport(), roles, seed=3)


def labels(trace: Trace, kind: str = "recv") -> list[str]:
    return [e.label for e in trace.of_kind(kind)]


CONSTRUCTS: dict[str, str] = {
    "send": "roles: A, B; A -> B: M(x: i64, note: String); B -> A: R(ok: bool);",
    "chain": "roles: A, B, C; A -> B -> C: Relay(x: i64);",
    "exchange": "roles: A, B; A <-> B: Sync;",
    "broadcast": "roles: A, B, C; A ->* : Hello(n: u32);",
    "multicast_and_fan_in": "roles: C, W[3]; C -> W[*]: Task(n: i64); W[*] -> C: Done(r: i64);",
    "choice": """roles: A, B; choice A { yes: { A -> B: Accept(id: u64); } no: { A -> B: Reject; } }""",
    "guarded_choice": """roles: A, B; A -> B: Offer(price: i64);
        choice B { take when (price < 100): { B -> A: Take; } leave: { B -> A: Leave; } }""",
    "match": """roles: A, B; A -> B: Ask; B -> A: Answer(vote: Vote);
        match vote { Vote::Yes => { A -> B: Go; } Vote::No => { A -> B: Stop; } }""",
    "if": """roles: A, B; A -> B: Size(n: i64); if n > 5 { B -> A: Big; } else { B -> A: Small; }""",
    "counted_loop": "roles: A, B; loop (count: 3) { A -> B: Tick(i: i64); }",
    "for_loop": "roles: A, B; for i in 0..4 { A -> B: Item(i: i64); }",
    "decided_loop": "roles: A, B; loop (decides: A) { A -> B: Next; B -> A: Ack; }",
    "open_loop": """roles: A, B; loop { A -> B: Chunk(chunk: Chunk);
        if chunk.is_last { break; } }""",
    "rec": """roles: A, B;
        rec L { choice A { more: { A -> B: Item; continue L; } done: { A -> B: End; } } }""",
    "parallel": "roles: A, B, C; parallel { A -> B: X; | A -> C: Y; | C -> B: Z; }",
    "quorum": "roles: C, W[3]; C -> W[*]: Task; [@min_responses = 2] W[*] -> C: Vote(ok: bool);",
    "barrier": "roles: A, B, C; A -> B: Go; barrier; C -> A: Done;",
    "local_and_let": "roles: A, B; A -> B: N(n: i64); let m = n + 1; B: Record(m); B -> A: Back(m: i64);",
    "sub_protocol": """roles: A, B; protocol Greet(X, Y) { X -> Y: Hi; Y -> X: Hey; }
        call Greet(A, B); call Greet(B, A);""",
    "named_block": "roles: A, B; sub_protocol Handshake { A -> B: Syn; B -> A: SynAck; }",
    "timeout": "roles: A, B; timeout(1s) { A -> B: Data; } or { B: GiveUp(); }",
    "saga": "roles: A, B; try { A -> B: Work(n: i64); B -> A: Ok; } compensate { A -> B: Undo; }",
}


def build(name: str) -> Protocol:
    return choreography(f"choreography {name.title().replace('_', '')} {{ {CONSTRUCTS[name]} }}")


@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
@pytest.mark.parametrize("seed", [0, 1, 2])
async def test_every_construct_runs_with_the_default_behaviour(name: str, seed: int) -> None:
    session = build(name).session(peer_timeout=5)
    await asyncio.wait_for(run_session(session, InMemoryTransport(), seed=seed), 10)
    sent = Counter((e.sender, e.receiver, e.label) for e in session.trace.of_kind("send"))
    received = Counter((e.sender, e.receiver, e.label) for e in session.trace.of_kind("recv"))
    assert sent, "the protocol sent nothing"
    assert not received - sent, "nothing is received that was not sent"
    unreceived = sum((sent - received).values())
    # Only a quorum leaves a message unread: the straggler after `min_responses`.
    assert unreceived == (1 if name == "quorum" else 0)


async def test_choice_with_user_code_on_both_sides() -> None:
    session = build("choice").session()

    class Chooser:
        def choose(self, env: dict[str, object]) -> str:
            return "yes"

        def Accept(self, env: dict[str, object]) -> dict[str, int]:
            return {"id": 42}

    async def b(ep: Endpoint) -> tuple[str, int]:
        label = await ep.offer("A")
        return label, ep.last_message.id

    results = await run(session, A=Chooser(), B=b)
    assert results["B"] == ("Accept", 42)


async def test_guard_that_fails_is_never_taken_by_the_default_behaviour() -> None:
    for seed in range(8):
        session = build("guarded_choice").session()

        class Seller:
            def Offer(self, env: dict[str, object]) -> int:
                return 500

        await run_session(session, InMemoryTransport(), {"A": Seller()}, seed=seed)
        assert labels(session.trace) == ["Offer", "Leave"]


async def test_match_follows_the_received_vote() -> None:
    for vote, expected in (("Vote::Yes", "Go"), ("Vote::No", "Stop")):
        session = build("match").session()

        class Voter:
            chosen = vote

            def Answer(self, env: dict[str, object]) -> str:
                return self.chosen

        await run(session, B=Voter())
        assert labels(session.trace)[-1] == expected


async def test_default_behaviour_treats_a_matched_type_as_an_enum_of_its_patterns() -> None:
    seen = set()
    for seed in range(12):
        session = build("match").session()
        await run_session(session, InMemoryTransport(), seed=seed)
        seen.add(labels(session.trace)[-1])
    assert seen == {"Go", "Stop"}


async def test_if_on_shared_knowledge_with_user_code() -> None:
    for n, expected in ((9, "Big"), (2, "Small")):
        session = build("if").session()

        async def a(ep: Endpoint, n: int = n) -> str:
            await ep.send("B", ep.message("Size", n=n))
            await ep.recv("B")
            return ep.last_sender_label

        results = await run(session, A=a)
        assert results["A"] == expected


async def test_counted_and_for_loops_repeat_and_bind_the_index() -> None:
    session = build("for_loop").session()

    class Sender:
        def Item(self, env: dict[str, object]) -> object:
            return env["i"]

    async def b(ep: Endpoint) -> list[int]:
        return [(await ep.recv("A")).i for _ in range(4)]

    results = await run(session, A=Sender(), B=b)
    assert results["B"] == [0, 1, 2, 3]


async def test_decided_loop_runs_as_long_as_the_decider_says() -> None:
    session = build("decided_loop").session()
    decisions = iter(["continue", "continue", "continue", "stop"])

    class Decider:
        def choose(self, env: dict[str, object]) -> str:
            return next(decisions)

        def __getattr__(self, name: str) -> Any:
            if name.startswith("choose_"):
                return self.choose
            raise AttributeError(name)

    await run(session, A=Decider())
    assert labels(session.trace).count("Next") == 3


async def test_open_loop_on_a_record_field_terminates_with_the_default_behaviour() -> None:
    for seed in range(10):
        session = build("open_loop").session()
        await asyncio.wait_for(run_session(session, InMemoryTransport(), seed=seed), 10)
        assert labels(session.trace).count("Chunk") >= 1


async def test_rec_continue_with_user_decisions() -> None:
    session = build("rec").session()
    remaining = [3]

    class Producer:
        def __getattr__(self, name: str) -> Any:
            if name.startswith("choose"):
                return self.decide
            raise AttributeError(name)

        def decide(self, env: dict[str, object]) -> str:
            remaining[0] -= 1
            return "more" if remaining[0] >= 0 else "done"

    await run(session, A=Producer())
    assert labels(session.trace) == ["Item", "Item", "Item", "End"]


async def test_parallel_branches_really_run_concurrently() -> None:
    # Branch 1 of A waits for a signal that only branch 2 gives: run sequentially, this would hang.
    protocol = choreography(
        """
        choreography Conc {
            roles: A, B;
            parallel { A: AwaitSignal(); A -> B: X; | A: Signal(); B -> A: Y; }
        }
        """
    )
    signal = asyncio.Event()

    class Concurrent:
        async def AwaitSignal(self, env: dict[str, object]) -> None:
            await signal.wait()

        def Signal(self, env: dict[str, object]) -> None:
            signal.set()

    session = protocol.session()
    await asyncio.wait_for(run(session, A=Concurrent()), 5)
    assert sorted(labels(session.trace)) == ["X", "Y"]


async def test_imperative_code_may_interleave_parallel_branches_in_any_order() -> None:
    protocol = choreography(
        "choreography P2 { roles: A, B; parallel { A -> B: X; B -> A: X2; | B -> A: Y; A -> B: Y2; } }"
    )

    async def a(ep: Endpoint) -> None:
        await ep.send("B", "X")
        await ep.recv("B", "Y")
        await ep.send("B", "Y2")
        await ep.recv("B", "X2")

    async def b(ep: Endpoint) -> None:
        await ep.send("A", "Y")
        await ep.recv("A", "Y2")
        await ep.recv("A", "X")
        await ep.send("A", "X2")

    session = protocol.session()
    await run(session, A=a, B=b)
    assert len(session.trace.of_kind("recv")) == 4


async def test_quorum_continues_after_min_responses_and_discards_the_rest() -> None:
    protocol = choreography(
        """
        choreography Q {
            roles: C, W[3];
            C -> W[*]: Task;
            [@min_responses = 2]
            W[*] -> C: Vote(ok: bool);
            C -> W[*]: Result;
        }
        """
    )
    session = protocol.session()

    async def coordinator(ep: Endpoint) -> list[str]:
        for i in range(3):
            await ep.send(f"W[{i}]", "Task")
        voters = [(await ep.recv_any(["W[0]", "W[1]", "W[2]"]))[0] for _ in range(2)]
        for i in range(3):
            await ep.send(f"W[{i}]", "Result")
        await asyncio.sleep(0.01)  # let the straggler arrive before we finish
        return voters

    results = await run(session, C=coordinator)
    assert len(set(results["C"])) == 2
    (discard,) = session.trace.of_kind("discard")
    assert discard.label == "Vote"
    assert discard.sender not in results["C"]


async def test_timeout_runs_alt_and_counts_the_late_message() -> None:
    protocol = choreography(
        """
        choreography T {
            roles: A, B;
            timeout(20ms) { A -> B: Slow; } or { B: GiveUp(); }
            A -> B: Final;
        }
        """
    )
    gave_up: list[bool] = []

    class SlowSender:
        async def Slow(self, env: dict[str, object]) -> None:
            await asyncio.sleep(0.1)

    class Waiter:
        def GiveUp(self, env: dict[str, object]) -> None:
            gave_up.append(True)

    session = protocol.session()
    await run(session, A=SlowSender(), B=Waiter())
    assert gave_up == [True]
    assert labels(session.trace, "timeout") == ["timeout"]
    assert labels(session.trace, "late") == ["Slow"]
    assert labels(session.trace) == ["Final"]


async def test_timeout_body_in_time_skips_alt() -> None:
    session = build("timeout").session()
    gave_up: list[bool] = []

    class Waiter:
        def GiveUp(self, env: dict[str, object]) -> None:
            gave_up.append(True)

    await run(session, B=Waiter())
    assert gave_up == []
    assert labels(session.trace) == ["Data"]


async def test_saga_commits_when_the_body_completes() -> None:
    session = build("saga").session()
    await run(session)
    assert "Undo" not in labels(session.trace)
    assert labels(session.trace).count("Commit") == 1


@pytest.mark.parametrize("failing", ["A", "B"])
async def test_saga_compensates_when_a_participant_fails(failing: str) -> None:
    session = build("saga").session(peer_timeout=5)

    class Failing:
        def Work(self, env: dict[str, object]) -> None:
            raise RuntimeError("disk full")

        def Ok(self, env: dict[str, object]) -> None:
            raise RuntimeError("disk full")

    await asyncio.wait_for(run(session, **{failing: Failing()}), 5)
    received = labels(session.trace)
    assert "Compensate" in received
    assert received[-1] == "Undo"
    assert "Commit" not in received


async def test_chain_and_exchange_with_imperative_code() -> None:
    chain = build("chain").session()

    async def relay(ep: Endpoint) -> int:
        message = await ep.recv("A")
        await ep.send("C", ep.message("Relay", x=message.x + 1))
        return int(message.x)

    async def a(ep: Endpoint) -> None:
        await ep.send("B", ep.message("Relay", x=41))

    async def c(ep: Endpoint) -> int:
        return int((await ep.recv("B")).x)

    assert await run(chain, A=a, B=relay, C=c) == {"A": None, "B": 41, "C": 42}

    exchange = build("exchange").session()

    async def ask(ep: Endpoint) -> str:
        await ep.send("B", "SyncRequest")
        await ep.recv("B")
        return ep.last_sender_label

    async def answer(ep: Endpoint) -> None:
        await ep.recv("A")
        await ep.send("A", "SyncResponse")

    assert (await run(exchange, A=ask, B=answer))["A"] == "SyncResponse"


async def test_broadcast_multicast_and_fan_in_with_imperative_code() -> None:
    broadcast = build("broadcast").session()

    async def announce(ep: Endpoint) -> None:
        for role in ("B", "C"):
            await ep.send(role, ep.message("Hello", n=len(role)))

    await run(broadcast, A=announce)
    assert [(e.receiver, e.label) for e in broadcast.trace.deliveries()] == [("B", "Hello"), ("C", "Hello")]

    fan = build("multicast_and_fan_in").session()

    async def coordinator(ep: Endpoint) -> list[int]:
        for i in range(3):
            await ep.send(f"W[{i}]", ep.message("Task", n=i))
        replies = [await ep.recv_any([f"W[{i}]" for i in range(3)]) for _ in range(3)]
        return sorted(int(message.r) for _, message in replies)

    def worker(index: int):  # type: ignore[no-untyped-def]
        async def code(ep: Endpoint) -> None:
            task = await ep.recv("C")
            await ep.send("C", ep.message("Done", r=task.n * 10))

        return code

    results = await run(fan, C=coordinator, **{f"W[{i}]": worker(i) for i in range(3)})
    assert results["C"] == [0, 10, 20]


async def test_barrier_with_imperative_code_releases_only_after_everyone_arrived() -> None:
    session = build("barrier").session()
    arrived: list[str] = []

    async def a(ep: Endpoint) -> None:
        await ep.send("B", "Go")
        for _ in range(2):
            sender, _ = await ep.recv_any(["B", "C"])
            arrived.append(sender)
        await ep.send("B", "BarrierRelease")
        await ep.send("C", "BarrierRelease")
        await ep.recv("C")

    async def b(ep: Endpoint) -> None:
        await ep.recv("A")
        await ep.send("A", "BarrierArrive")
        await ep.recv("A")

    async def c(ep: Endpoint) -> None:
        await ep.send("A", "BarrierArrive")
        await ep.recv("A")
        assert sorted(arrived) == ["B", "C"]  # released only once both arrived
        await ep.send("A", "Done")

    await run(session, A=a, B=b, C=c)


async def test_let_is_computed_by_every_role_that_knows_its_inputs() -> None:
    session = build("local_and_let").session()
    recorded: list[object] = []

    async def a(ep: Endpoint) -> tuple[object, int]:
        await ep.send("B", ep.message("N", n=4))
        back = await ep.recv("B")
        return ep.env["m"], int(back.m)

    class Recorder:
        def Record(self, env: dict[str, object], m: object) -> None:
            recorded.append(m)

        def Back(self, env: dict[str, object]) -> dict[str, object]:
            return {"m": env["m"]}

    results = await run(session, A=a, B=Recorder())
    assert results["A"] == (5, 5)
    assert recorded == [5]


async def test_sub_protocols_and_named_blocks_with_imperative_code() -> None:
    session = build("sub_protocol").session()

    async def greet_then_answer(ep: Endpoint, me: str, other: str) -> None:
        if me == "A":
            await ep.send(other, "Hi")
            await ep.recv(other)
            await ep.recv(other)
            await ep.send(other, "Hey")
        else:
            await ep.recv(other)
            await ep.send(other, "Hey")
            await ep.send(other, "Hi")
            await ep.recv(other)

    await run(
        session,
        A=lambda ep: greet_then_answer(ep, "A", "B"),
        B=lambda ep: greet_then_answer(ep, "B", "A"),
    )
    assert [e.label for e in session.trace.deliveries()] == ["Hi", "Hey", "Hi", "Hey"]

    block = build("named_block").session()

    async def syn(ep: Endpoint) -> None:
        await ep.send("B", "Syn")
        await ep.recv("B")

    await run(block, A=syn)
    assert [e.label for e in block.trace.deliveries()] == ["Syn", "SynAck"]


@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
async def test_every_construct_asks_user_behaviours_for_every_payload(name: str) -> None:
    session = build(name).session(peer_timeout=5)
    asked: dict[str, list[str]] = {}
    synthesis = DefaultBehaviour(seed=1, hints=ProtocolHints.from_local_types(session.local_types.values()))

    class Asking:
        """A user behaviour that supplies every payload (synthesised) and records what it was asked."""

        def __init__(self, role: str) -> None:
            self.role = role

        def __getattr__(self, label: str) -> Any:
            spec = session.catalog.by_label(label)
            if spec is None:
                raise AttributeError(label)  # not a message: a decision or local action, left to defaults

            def payload(env: dict[str, object]) -> dict[str, object]:
                asked.setdefault(self.role, []).append(label)
                return synthesis.payload(spec.payload, env)

            return payload

    roles = {role: Asking(role) for role in session.local_types}
    await asyncio.wait_for(run_session(session, InMemoryTransport(), roles, seed=1), 10)
    saga_control = {"Commit", "Compensate", "Done", "Failed"}
    sent = [e for e in session.trace.of_kind("send") if e.label not in saga_control]
    assert sent
    for event in sent:
        assert event.label in asked.get(event.role, []), f"{event.role} was not asked for {event.label}"


async def test_imperative_timeout_block_runs_alt_after_the_deadline() -> None:
    protocol = choreography(
        """
        choreography T {
            roles: A, B;
            timeout(20ms) { A -> B: Slow; } or { B: GiveUp(); }
            A -> B: Final;
        }
        """
    )

    async def a(ep: Endpoint) -> None:
        async with ep.timeout_block() as block:  # a non-waiter: no deadline
            await asyncio.sleep(0.05)
            await ep.send("B", "Slow")
        assert not block.expired
        await ep.send("B", "Final")

    async def b(ep: Endpoint) -> bool:
        async with ep.timeout_block() as block:
            await ep.recv("A")
        if block.expired:
            await ep.local("GiveUp")
        await ep.recv("A")
        return block.expired

    session = protocol.session()
    results = await run(session, A=a, B=b)
    assert results["B"] is True
    assert labels(session.trace, "late") == ["Slow"]


async def test_imperative_saga_compensates_on_a_failure_and_commits_otherwise() -> None:
    for fail in (False, True):
        session = build("saga").session(peer_timeout=5)

        async def a(ep: Endpoint) -> bool:
            async with ep.saga() as saga:
                await ep.send("B", ep.message("Work", n=1))
                await ep.recv("B")
            if not saga.committed:
                await ep.send("B", "Undo")
            return saga.committed

        async def b(ep: Endpoint, fail: bool = fail) -> bool:
            async with ep.saga() as saga:
                await ep.recv("A")
                if fail:
                    raise RuntimeError("disk full")
                await ep.send("A", "Ok")
            if not saga.committed:
                await ep.recv("A")
                assert isinstance(saga.error, RuntimeError)
            return saga.committed

        results = await asyncio.wait_for(run(session, A=a, B=b), 5)
        assert results == {"A": not fail, "B": not fail}
        assert ("Undo" in labels(session.trace)) is fail
