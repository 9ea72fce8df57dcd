"""Local types compile to the machines SPEC §4.1 describes."""

from __future__ import annotations

import pytest
from verify_replay import lt

from aura_choreo.projection.local_types import (
    Branch,
    Choose,
    Continue,
    If,
    Local,
    Loop,
    Offer,
    Par,
    Quorum,
    Rec,
    Recv,
    Send,
    Timeout,
    Try,
)
from aura_choreo.syntax.ast import Literal, Name
from aura_choreo.verify import MachineCompileError, compile_machine
from aura_choreo.verify.compile import UNROLL_LIMIT
from aura_choreo.verify.fsm import ActionKind


def _labels(machine):  # type: ignore[no-untyped-def]
    return sorted(t.action.text() for t in machine.transitions)


def test_a_sequence_is_a_chain_ending_in_a_final_state() -> None:
    m = compile_machine(lt("A", Send("B", "Ping"), Local("think"), Recv("B", "Pong")))
    assert m.state_count == 3 and m.finals == frozenset({2})
    assert [(t.source, t.action.text(), t.target) for t in m.transitions] == [
        (0, "B!Ping", 1),
        (1, "B?Pong", 2),
    ]


def test_choose_starting_with_sends_branches_on_the_sends() -> None:
    m = compile_machine(lt("A", Choose((Branch("x", (Send("B", "X"),)), Branch("y", (Send("B", "Y"),))))))
    assert {m.transitions[i].action.text() for i in m.outgoing[0]} == {"B!X", "B!Y"}


def test_choose_with_a_silent_branch_commits_with_an_internal_step() -> None:
    m = compile_machine(lt("A", Choose((Branch("x", (Send("B", "X"),)), Branch("skip", ()))), Recv("B", "Z")))
    assert {m.transitions[i].action.text() for i in m.outgoing[0]} == {"tau:choose x", "tau:choose skip"}


def test_offer_has_one_receive_per_label() -> None:
    m = compile_machine(lt("B", Offer("A", (Branch("Yes", ()), Branch("No", (Send("A", "Why"),))))))
    assert {m.transitions[i].action.text() for i in m.outgoing[0]} == {"A?Yes", "A?No"}


def test_if_is_a_coin_keyed_by_its_expression() -> None:
    m = compile_machine(lt("A", If(Name("ok"), (Branch("then", (Send("B", "Y"),)), Branch("else", ())))))
    assert {m.transitions[i].action.text() for i in m.outgoing[0]} == {"coin:if ok=then", "coin:if ok=else"}


def test_small_literal_loops_are_unrolled_and_others_loop_on_a_coin() -> None:
    body = (Send("B", "Tick"),)
    unrolled = compile_machine(lt("A", Loop(Literal(3), body)))
    assert unrolled.state_count == 4 and not unrolled.has_cycle
    big = compile_machine(lt("A", Loop(Literal(UNROLL_LIMIT + 1), body)))
    symbolic = compile_machine(lt("A", Loop(Name("N"), body)))
    for m in (big, symbolic):
        assert m.has_cycle
        assert {t.action.label for t in m.transitions if t.action.kind is ActionKind.COIN} == {
            "again",
            "exit",
        }


def test_rec_and_continue_make_a_back_edge_and_falling_off_leaves() -> None:
    m = compile_machine(
        lt(
            "A",
            Rec(
                "L",
                (
                    Choose(
                        (
                            Branch("more", (Send("B", "More"), Continue("L"))),
                            Branch("stop", (Send("B", "Stop"),)),
                        )
                    ),
                ),
            ),
        )
    )
    assert [(t.source, t.action.text(), t.target) for t in m.transitions] == [
        (0, "B!More", 0),
        (0, "B!Stop", 1),
    ]
    assert m.finals == frozenset({1}) and m.can_finish == (True, True)


def test_continue_outside_its_rec_is_a_compile_error() -> None:
    with pytest.raises(MachineCompileError, match="continue L"):
        compile_machine(lt("A", Continue("L")))


def test_par_is_the_interleaving_product() -> None:
    m = compile_machine(lt("A", Par(((Send("B", "X"), Send("B", "Y")), (Recv("C", "Z"),))), Send("D", "End")))
    # 3 x 2 product states plus the state after `End`.
    assert m.state_count == 7
    assert len(m.finals) == 1


def test_quorum_tracks_subsets_and_owes_exactly_the_missing_answers() -> None:
    recvs = tuple(Recv(f"S[{i}]", "Vote") for i in range(4))
    m = compile_machine(lt("C", Quorum(2, recvs), Send("X", "Done")))
    # subsets of size 0, 1 and 2 of four answers: 1 + 4 + 6, the state after the quorum, after Done.
    assert m.state_count == 1 + 4 + 6 + 1 + 1
    done = [t for t in m.transitions if t.action.text() == "tau:quorum 2 of 4"]
    assert len(done) == 6
    # each completion owes the two answers it did not count, and nothing is dropped by label alone
    # (a label set would also drop the next round's answers inside a loop: issue 11 item 3)
    assert all(len(t.owes) == 2 for t in done)
    assert {frozenset(t.owes) for t in done} == {
        frozenset({(f"S[{i}]", "Vote"), (f"S[{j}]", "Vote")}) for i in range(4) for j in range(i + 1, 4)
    }
    assert m.discards == ()


def test_a_quorum_too_large_to_enumerate_is_refused_by_counting_not_enumerating() -> None:
    # 2^40 subsets: enumerating them before checking the limit hung `validate` (issue 19).
    recvs = tuple(Recv(f"S[{i}]", "Vote") for i in range(40))
    with pytest.raises(MachineCompileError, match="quorum over 40 answers is too large"):
        compile_machine(lt("C", Quorum(20, recvs)))


def test_timeout_adds_a_timed_out_edge_from_waiting_states_to_alt() -> None:
    m = compile_machine(lt("C", Timeout(1000, (Recv("S", "Resp"),), (Send("S", "Cancel"),))))
    assert {m.transitions[i].action.text() for i in m.outgoing[0]} == {"S?Resp", "tau:timeout 1000ms"}
    late = [state for state, d in m.discards if ("S", "Resp") in d]
    assert late, "a late response is discarded after the timeout"


def test_non_waiters_just_run_the_timeout_body() -> None:
    m = compile_machine(lt("S", Timeout(1000, (Send("C", "Resp"),), (), waiter=False)))
    assert _labels(m) == ["C!Resp"]


def test_saga_outcome_is_a_shared_coin_with_abandon_at_receives() -> None:
    m = compile_machine(
        lt("A", Try((Recv("C", "Go"), Send("C", "Done")), (Recv("C", "Undo"),), coordinator="C"))
    )
    coins = sorted(t.action.text() for t in m.transitions if t.action.kind is ActionKind.COIN)
    assert coins == ["coin:saga C=commit", "coin:saga C=compensate", "coin:saga C=compensate"]
