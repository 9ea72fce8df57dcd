"""Protocols that are fine: every one is deadlock free, with and without partial-order reduction."""

from __future__ import annotations

import pytest
from verify_replay import lt, machines_of

from aura_choreo.projection.local_types import Branch, Choose, If, Offer, Recv, Send
from aura_choreo.protocol import choreography
from aura_choreo.syntax.ast import Name
from aura_choreo.verify import FindingKind, explore, verify_protocol


def _ring(n: int) -> str:
    roles = [f"R{i}" for i in range(n)]
    sends = "\n".join(f"  {roles[i]} -> {roles[(i + 1) % n]}: Token;" for i in range(n))
    return f"protocol Ring{n} {{\n  roles: {', '.join(roles)};\n{sends}\n}}"


FINE = {
    "ping_pong": "protocol PingPong { roles: A, B; A -> B: Ping; B -> A: Pong; }",
    "ring3": _ring(3),
    "ring5": _ring(5),
    "family3": """protocol Fam3 { roles: Leader, Workers[3];
        Leader -> Workers[*]: Task; Workers[*] -> Leader: Result; }""",
    "family5": """protocol Fam5 { roles: Leader, Workers[N];
        Leader -> Workers[*]: Task; Workers[*] -> Leader: Result; Leader -> Workers[*]: Done; }""",
    "parallel": """protocol Par { roles: A, B, C, D;
        parallel { A -> B: X; B -> A: Y; | C -> D: Z; D -> C: W; } }""",
    "quorum": """protocol Quorum { roles: C, S[5];
        C -> S[*]: Req; S[*][min_responses = 3] -> C: Vote; C -> S[*]: Done; }""",
    # issue 11 item 3: a quorum inside a loop; late answers of one round are not the next round's
    "quorum_counted_loop": """choreography QuorumLoop { roles: P, A[3]
        loop (count: 2) { P -> A[*]: Prep; [@min_responses = 2] A[*] -> P: Prom; } }""",
    "quorum_symbolic_loop": """choreography QuorumRounds { roles: P, A[3]
        loop (count: 9) { P -> A[*]: Prep; [@min_responses = 2] A[*] -> P: Prom; } }""",
    "quorum_rec": """choreography QuorumRec { roles: P, A[3]
        rec R { P -> A[*]: Prep; [@min_responses = 2] A[*] -> P: Prom;
          choice P { done: { P -> A[*]: Fin } again: { P -> A[*]: Again; continue R } } } }""",
    # issue 11 item 10: a shared `if` in a timeout body; a waiter that timed out no longer follows it
    "shared_if_in_timeout": """protocol Stream { roles: S, C;
        C -> S: Req;
        timeout(1s) { loop { S -> C: Chunk(last: bool); if last { break } } } or { C: give_up(); } }""",
    "shared_if_in_timeout_relay": """protocol Relay { roles: O, P, C;
        O -> P: Open;
        timeout(5s) {
          loop { O -> P: Data(end: bool); P -> C: Data(end: bool); if end { break; } }
        } or { C: cancel(); P: gateway_timeout(); } }""",
    "choice_loop": """protocol Stream { roles: Client, Server;
        loop (decides: Client) { Client -> Server: Chunk; Server -> Client: Ack; }
        Client -> Server: Close; }""",
    "shared_if": """protocol SharedIf { roles: A, B;
        A -> B: Start(limit: u32);
        if limit > 3 { A -> B: Big; B -> A: Ok; } else { B -> A: Small; } }""",
    "counted_symbolic": """protocol Rounds { roles: A, B;
        loop (count: 12) { A -> B: Bid; B -> A: Ack; } }""",
    "timeout": """protocol Robust { roles: Client, Server;
        Client -> Server: Request;
        timeout(30s) { Server -> Client: Response; } or { Client: Give_up(); } }""",
    "saga": """protocol Saga { roles: Coordinator, A, B;
        try { Coordinator -> A: Reserve; A -> Coordinator: Reserved; Coordinator -> B: Allocate;
              B -> Coordinator: Allocated; }
        compensate { Coordinator -> B: Release; Coordinator -> A: Cancel; } }""",
}


@pytest.mark.parametrize("name", sorted(FINE))
@pytest.mark.parametrize("por", [True, False])
def test_fine_protocols_are_deadlock_free(name: str, por: bool) -> None:
    protocol = choreography(FINE[name], params={"N": 5})
    report = verify_protocol(protocol.local_types(), por=por)
    assert report.deadlock_free, [f.message for f in report.findings]
    assert report.complete and report.states > 1
    assert not [f for f in report.findings if f.is_error]


def test_families_of_three_and_five_expand_to_concrete_roles() -> None:
    three = verify_protocol(choreography(FINE["family3"]).local_types())
    five = verify_protocol(choreography(FINE["family5"], params={"N": 5}).local_types())
    assert three.roles == ("Leader", "Workers[0]", "Workers[1]", "Workers[2]")
    assert len(five.roles) == 6
    assert five.states > three.states


def test_partial_order_reduction_explores_fewer_states_with_the_same_verdict() -> None:
    local_types = choreography(FINE["parallel"]).local_types()
    reduced = verify_protocol(local_types, por=True)
    full = verify_protocol(local_types, por=False)
    assert reduced.deadlock_free and full.deadlock_free
    assert reduced.states < full.states


def test_roles_evaluating_a_shared_if_take_the_same_branch() -> None:
    cond = Name("x")
    a = lt("A", If(cond, (Branch("then", (Send("B", "Big"),)), Branch("else", (Recv("B", "Small"),)))))
    b = lt("B", If(cond, (Branch("then", (Recv("A", "Big"),)), Branch("else", (Send("A", "Small"),)))))
    result = explore(list(machines_of(a, b).values()))
    assert not [f for f in result.findings if f.is_error]


def test_quorum_continues_after_k_answers_and_discards_the_rest() -> None:
    local_types = choreography(FINE["quorum"]).local_types()
    report = verify_protocol(local_types)
    machine = report.machines["C"]
    assert any(t.owes for t in machine.transitions), "late votes are discarded after the quorum"
    assert report.deadlock_free


def test_unreachable_branch_is_a_warning_with_the_branch_named() -> None:
    a = lt("A", Choose((Branch("go", (Send("B", "Go"),)),)))
    b = lt("B", Offer("A", (Branch("Go", ()), Branch("Stop", (Send("A", "Bye"),)))))
    report = verify_protocol({"A": a, "B": b})
    warnings = report.of_kind(FindingKind.UNREACHABLE_BRANCH)
    assert [w.code for w in warnings] == ["W105"]
    assert "`Stop`" in warnings[0].message and "B" in warnings[0].message
    assert report.deadlock_free


def test_partial_order_reduction_also_shrinks_cyclic_protocols() -> None:
    text = """protocol Loops { roles: A0, B0, A1, B1, A2, B2;
        parallel {
            loop (decides: A0) { A0 -> B0: Ping; B0 -> A0: Pong; }; A0 -> B0: Bye;
          | loop (decides: A1) { A1 -> B1: Ping; B1 -> A1: Pong; }; A1 -> B1: Bye;
          | loop (decides: A2) { A2 -> B2: Ping; B2 -> A2: Pong; }; A2 -> B2: Bye;
        } }"""
    local_types = choreography(text).local_types()
    reduced = verify_protocol(local_types, por=True)
    full = verify_protocol(local_types, por=False)
    assert reduced.deadlock_free and full.deadlock_free
    assert reduced.states * 4 < full.states
