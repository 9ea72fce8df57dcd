"""`least_flow`: the flow cost a role charges to each peer on every run (the floor under E104's bound)."""

from __future__ import annotations

from aura_choreo.protocol import choreography
from aura_choreo.verify.budget_floor import least_flow
from aura_choreo.verify.budgets import send_flow_cost


def floor_of(body: str, role: str = "A") -> dict[str, int]:
    protocol = choreography(f"protocol P {{\n  roles: A, B, C\n{body}\n}}\n")
    return least_flow(protocol.local_type(role), lambda send: send_flow_cost(send.annotations))


def test_sends_in_sequence_and_counted_loops_add_up() -> None:
    body = "A[flow_cost = 7] -> B: M\nfor r in 0..3 { A[flow_cost = 400] -> B: N\n B -> A: Ack }\n"
    body += "A -> C: Done"
    assert floor_of(body) == {"B": 7 + 3 * 400, "C": 1}


def test_a_choice_costs_its_cheapest_branch() -> None:
    body = "choice A { big: { A[flow_cost = 900] -> B: Big } small: { A[flow_cost = 5] -> B: Small } }"
    assert floor_of(body) == {"B": 5}


def test_a_peer_only_one_branch_pays_much_costs_the_other_branch() -> None:
    body = "choice A { big: { A[flow_cost = 900] -> B: Big\n A -> C: X } small: { A -> C: Small } }"
    assert floor_of(body) == {"B": 1, "C": 1}  # in `small`, B is told the branch (a notification)


def test_a_decided_loop_may_not_run_at_all() -> None:
    body = "loop (decides: A) { A[flow_cost = 900] -> B: Work }"
    assert floor_of(body) == {"B": 1}  # only the notification that the loop stops


def test_a_saga_costs_nothing_its_denials_are_handled() -> None:
    body = "try { A[flow_cost = 900] -> B: Work\n B -> A: Done } compensate { A[flow_cost = 900] -> B: Undo }"
    assert floor_of(body) == {}


def test_parallel_branches_all_pay() -> None:
    body = "parallel { A[flow_cost = 10] -> B: X | A[flow_cost = 20] -> B: Y }"
    assert floor_of(body) == {"B": 30}


def test_the_receiver_charges_nothing() -> None:
    assert floor_of("for r in 0..3 { A[flow_cost = 400] -> B: N }", role="B") == {}
