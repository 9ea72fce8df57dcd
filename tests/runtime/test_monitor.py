"""The sans-I/O monitor, driven directly with hand-built local types (no asyncio anywhere)."""

from __future__ import annotations

import pytest

from aura_choreo.errors import ProtocolViolation
from aura_choreo.projection.local_types import (
    Branch,
    Choose,
    Continue,
    If,
    Local,
    LocalType,
    Loop,
    Offer,
    Par,
    PayloadItem,
    Quorum,
    Rec,
    Recv,
    Send,
    Timeout,
    Try,
)
from aura_choreo.runtime.monitor import EvaluationFailed, Monitor
from aura_choreo.syntax.ast import BinOp, Literal, Name, TypeRef


def monitor(*steps: object, role: str = "A", env: dict[str, object] | None = None) -> Monitor:
    return Monitor(LocalType("P", role, tuple(steps)), session="s1", env=env)  # type: ignore[arg-type]


def test_sequence_of_send_and_receive_reaches_the_end() -> None:
    m = monitor(Send("B", "Ping"), Recv("B", "Pong"))
    assert not m.done
    m.on_send("B", "Ping")
    m.on_receive("B", "Pong")
    assert m.done
    assert m.step_count == 2


def test_wrong_label_names_role_session_step_and_expectation() -> None:
    m = monitor(Send("B", "Ping"))
    with pytest.raises(ProtocolViolation) as caught:
        m.on_send("B", "Pong")
    error = caught.value
    assert (error.role, error.session, error.step) == ("A", "s1", "step 1")
    assert error.expected == "send Ping to B"
    assert error.got == "send Pong to B"


def test_wrong_peer_is_a_violation() -> None:
    m = monitor(Recv("B", "Ping"))
    with pytest.raises(ProtocolViolation, match="receive Ping from B"):
        m.on_receive("C", "Ping")


def test_send_when_a_receive_is_due_is_a_violation() -> None:
    m = monitor(Recv("B", "Ping"))
    with pytest.raises(ProtocolViolation) as caught:
        m.on_send("B", "Ping")
    assert caught.value.expected == "receive Ping from B"


def test_anything_after_the_end_is_a_violation() -> None:
    m = monitor(Send("B", "Ping"))
    m.on_send("B", "Ping")
    with pytest.raises(ProtocolViolation) as caught:
        m.on_receive("B", "Extra")
    assert caught.value.expected == "end"
    assert caught.value.step == "step 2"


def test_choose_enters_the_chosen_branch_and_continues_after_it() -> None:
    step = Choose((Branch("yes", (Send("B", "Accept"),)), Branch("no", (Send("B", "Reject"),))), choice="d")
    m = monitor(step, Send("B", "Bye"))
    with pytest.raises(ProtocolViolation, match="choose one of yes, no"):
        m.on_send("B", "Accept")
    m.on_choose("no")
    with pytest.raises(ProtocolViolation):
        m.on_send("B", "Accept")
    m.on_send("B", "Reject")
    m.on_send("B", "Bye")
    assert m.done


def test_offer_branch_is_decided_by_the_first_message() -> None:
    step = Offer("B", (Branch("Accept", (Recv("B", "Details"),)), Branch("Reject", ())))
    m = monitor(step)
    branch = m.on_receive("B", "Accept")
    assert isinstance(branch, Branch) and branch.label == "Accept"
    m.on_receive("B", "Details")
    assert m.done


def test_if_on_shared_knowledge_follows_a_received_field() -> None:
    vote = PayloadItem("vote", TypeRef("Vote"))
    step = If(
        Name("vote"),
        (Branch("Commit", (Send("B", "Commit"),)), Branch("Abort", (Send("B", "Abort"),))),
        patterns=("Vote::Commit", "Vote::Abort"),
    )
    m = monitor(Recv("B", "Vote", (vote,)), step)
    m.on_receive("B", "Vote", {"vote": "Vote::Abort"})
    assert m.env["vote"] == "Vote::Abort"
    with pytest.raises(ProtocolViolation, match="send Abort to B"):
        m.on_send("B", "Commit")


def test_if_without_else_skips_when_false() -> None:
    step = If(BinOp(">", Name("n"), Literal(3)), (Branch("then", (Send("B", "Big"),)),))
    m = monitor(step, Send("B", "End"), env={"n": 1})
    m.on_send("B", "End")
    assert m.done



def test_resolve_if_decides_an_if_the_monitor_cannot_evaluate() -> None:
    step = If(Name("ghost"), (Branch("then", (Send("B", "Yes"),)), Branch("else", (Send("B", "No"),))))
    asked: list[If] = []

    def take_else(seen: If) -> Branch | None:
        asked.append(seen)
        return seen.branches[1]

    m = Monitor(LocalType("P", "A", (step,)), session="s1", resolve_if=take_else)
    assert m.expected() == "send No to B"
    m.on_send("B", "No")
    assert m.done and asked == [step]
    # An if it can evaluate never reaches the resolver.
    evaluated = Monitor(LocalType("P", "A", (step,)), env={"ghost": True}, resolve_if=take_else)
    assert evaluated.expected() == "send Yes to B" and asked == [step]

def test_if_on_an_unknown_variable_fails_with_a_typed_error() -> None:
    m = monitor(If(Name("ghost"), (Branch("then", ()),)))
    with pytest.raises(EvaluationFailed, match="ghost"):
        _ = m.done


def test_counted_loop_repeats_its_body_and_binds_the_index() -> None:
    m = monitor(Loop(Name("N"), (Send("B", "Tick"),), var="i", start=Literal(10)), env={"N": 3})
    for expected_index in (10, 11, 12):
        m.on_send("B", "Tick")
        assert m.env["i"] == expected_index
    assert m.done


def test_zero_count_loop_is_skipped() -> None:
    m = monitor(Loop(Literal(0), (Send("B", "Tick"),)), Send("B", "After"))
    m.on_send("B", "After")
    assert m.done


def test_rec_and_continue_loop_until_the_exit_branch() -> None:
    body = (
        Choose((Branch("more", (Send("B", "Item"), Continue("L"))), Branch("stop", (Send("B", "Stop"),)))),
    )
    m = monitor(Rec("L", body))
    for _ in range(5):
        m.on_choose("more")
        m.on_send("B", "Item")
    m.on_choose("stop")
    m.on_send("B", "Stop")
    assert m.done


def test_par_accepts_branches_in_any_interleaving() -> None:
    par = Par(((Send("B", "X"), Recv("B", "X2")), (Send("C", "Y"),)))
    for order in (["X", "Y", "X2"], ["Y", "X", "X2"], ["X", "X2", "Y"]):
        m = monitor(par, Send("B", "After"))
        for label in order:
            if label == "X2":
                m.on_receive("B", "X2")
            else:
                m.on_send("B" if label == "X" else "C", label)
        with pytest.raises(ProtocolViolation):
            m.on_send("B", "X")
        m.on_send("B", "After")
        assert m.done


def test_par_is_not_done_until_every_branch_is() -> None:
    m = monitor(Par(((Send("B", "X"),), (Send("C", "Y"),))))
    m.on_send("B", "X")
    assert not m.done
    assert "send Y to C" in m.expected()
    m.on_send("C", "Y")
    assert m.done


def test_quorum_completes_after_min_and_marks_stragglers_for_discard() -> None:
    recvs = tuple(Recv(f"W[{i}]", "Done") for i in range(3))
    m = monitor(Quorum(2, recvs), Send("B", "Result"))
    m.on_receive("W[2]", "Done")
    with pytest.raises(ProtocolViolation):
        m.on_receive("W[2]", "Done")  # the same worker twice
    m.on_receive("W[0]", "Done")
    assert m.discards == [("W[1]", "Done")]
    m.on_send("B", "Result")
    assert m.done


def test_local_actions_and_lets_are_crossed_silently() -> None:
    let = Local("let", var="x", expr=BinOp("+", Literal(1), Literal(2)))
    m = monitor(Local("Validate"), let, Send("B", "M"))
    m.on_send("B", "M")
    assert m.env["x"] == 3
    assert m.done


def test_timeout_expiry_moves_to_alt_and_marks_body_receives_late() -> None:
    step = Timeout(100, (Recv("B", "Slow"),), (Send("C", "GaveUp"),))
    m = monitor(step)
    (token,) = m.take_armed()
    assert m.on_timeout(token)
    assert ("B", "Slow") in m.late
    with pytest.raises(ProtocolViolation):
        m.on_receive("B", "Slow")
    m.on_send("C", "GaveUp")
    assert m.done


def test_timeout_body_done_in_time_skips_alt_and_disarms() -> None:
    m = monitor(Timeout(100, (Recv("B", "Fast"),), (Send("C", "GaveUp"),)))
    (token,) = m.take_armed()
    m.on_receive("B", "Fast")
    assert m.done
    assert not m.on_timeout(token)


def test_try_waits_for_the_outcome_then_commits_or_compensates() -> None:
    step = Try((Send("B", "Work"),), (Send("B", "Undo"),), coordinator="A", participants=("A", "B"))
    committed = monitor(step)
    committed.on_send("B", "Work")
    assert not committed.done
    assert committed.expected() == "the outcome of the try block"
    committed.on_try_outcome(committed.tries[0], True)
    assert committed.done

    compensated = monitor(step)
    compensated.next_steps()  # enter the block
    compensated.on_try_outcome(compensated.tries[0], False)  # abandoned before the body's send
    compensated.on_send("B", "Undo")
    assert compensated.done


def test_accepts_receive_does_not_change_state() -> None:
    m = monitor(Recv("B", "Ping"))
    assert m.accepts_receive("B", "Ping")
    assert not m.accepts_receive("B", "Pong")
    assert m.step_count == 0
    m.on_receive("B", "Ping")
