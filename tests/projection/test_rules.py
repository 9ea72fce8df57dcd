"""Projection rules of SPEC §3.3/§3.4: golden text and JSON for each case, plus the behaviour asserted."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from cases import CASES

from aura_choreo import ChoreographyError, Protocol, choreography
from aura_choreo.diagnostics import render_all
from aura_choreo.projection import local_types as lt
from aura_choreo.projection.render_json import to_json
from aura_choreo.projection.render_text import render_text
from aura_choreo.semantics import core
from aura_choreo.syntax.ast import Literal, TypeRef

Golden = Callable[[str, str], None]
PROJECTABLE = sorted(name for name in CASES if name != "third_role_strict")


def _protocol(name: str) -> Protocol:
    return choreography(CASES[name], filename=f"{name}.choreo")


@pytest.mark.parametrize("name", PROJECTABLE)
def test_golden_text(name: str, golden: Golden) -> None:
    protocol = _protocol(name)
    text = "".join(render_text(t) for t in protocol.local_types().values())
    notes = render_all(protocol.diagnostics, protocol.sources)
    golden(f"{name}.txt", text + (f"\n{notes}\n" if notes else ""))


@pytest.mark.parametrize("name", PROJECTABLE)
def test_golden_json(name: str, golden: Golden) -> None:
    protocol = _protocol(name)
    documents = [to_json(t) for t in protocol.local_types().values()]
    golden(f"{name}.json", json.dumps(documents, indent=2) + "\n")


def test_strict_choice_golden(golden: Golden) -> None:
    with pytest.raises(ChoreographyError) as caught:
        _protocol("third_role_strict")
    golden("third_role_strict.err", caught.value.render() + "\n")


def _steps(protocol: Protocol, role: str) -> lt.LocalSeq:
    return protocol.local_type(role).steps


def test_the_statement_after_a_choice_is_kept() -> None:
    protocol = _protocol("statement_after_choice")
    client, server = _steps(protocol, "Client"), _steps(protocol, "Server")
    assert isinstance(client[0], lt.Choose) and client[1] == lt.Recv("Server", "Receipt")
    assert isinstance(server[0], lt.Offer) and server[1] == lt.Send("Client", "Receipt")
    assert all(b.body == () for b in server[0].branches)  # the continuation is not copied into branches


def test_two_choices_in_a_row_are_both_projected() -> None:
    protocol = _protocol("two_choices_in_a_row")
    a = _steps(protocol, "A")
    assert [type(s) for s in a] == [lt.Choose, lt.Offer]
    assert isinstance(a[1], lt.Offer) and a[1].from_ == "B"
    assert [b.label for b in a[1].branches] == ["P", "Q"]


def test_nested_choice_merges_by_the_label_of_the_inner_decider() -> None:
    c = _steps(_protocol("nested_choices"), "C")
    assert len(c) == 1 and isinstance(c[0], lt.Offer)
    assert c[0].from_ == "B" and [b.label for b in c[0].branches] == ["Left", "Right"]


def test_merge_by_distinct_labels_from_the_same_sender() -> None:
    c = _steps(_protocol("merge_distinct_labels"), "C")
    assert c == (lt.Offer("B", (lt.Branch("Ping", ()), lt.Branch("Pong", ())), "l1_or_l2"),)


def test_identical_behaviour_merges_without_an_offer() -> None:
    protocol = _protocol("merge_identical_behaviour")
    assert _steps(protocol, "C") == (lt.Recv("B", "Same"),)
    assert not [d for d in protocol.diagnostics if d.code == "W102"]


def test_a_third_role_is_notified_with_w102() -> None:
    protocol = _protocol("third_role_notified")
    w102 = [d for d in protocol.diagnostics if d.code == "W102"]
    assert len(w102) == 1
    assert "`C`" in w102[0].message and "`A`" in w102[0].message and "line 4" in w102[0].message
    a = _steps(protocol, "A")
    assert isinstance(a[0], lt.Choose)
    assert [b.body[0] for b in a[0].branches] == [lt.Send("C", "yes"), lt.Send("C", "no")]
    c = _steps(protocol, "C")
    assert isinstance(c[0], lt.Offer) and [b.label for b in c[0].branches] == ["yes", "no"]
    # B learns from A's own first message, so it is not notified
    b = _steps(protocol, "B")
    assert isinstance(b[0], lt.Offer) and [x.label for x in b[0].branches] == ["Go", "Stop"]


def test_strict_choice_rejects_with_e080_naming_the_message() -> None:
    with pytest.raises(ChoreographyError) as caught:
        _protocol("third_role_strict")
    [e080] = [d for d in caught.value.diagnostics if d.code == "E080"]
    assert "`C`" in e080.message
    assert "`A -> C: yes;`" in e080.hints[0] and "`A -> C: no;`" in e080.hints[0]


def test_strict_choice_flag_rejects_the_lenient_protocol() -> None:
    with pytest.raises(ChoreographyError) as caught:
        choreography(CASES["third_role_notified"], strict_choice=True)
    assert [d.code for d in caught.value.diagnostics if d.is_error] == ["E080"]


def test_fixed_family_multicast_is_sends_in_index_order_and_fan_in_is_par() -> None:
    protocol = _protocol("family_fixed")
    master = _steps(protocol, "Master")
    assert master[:3] == tuple(lt.Send(f"Worker[{i}]", "Task") for i in range(3))
    assert master[3] == lt.Par(tuple((lt.Recv(f"Worker[{i}]", "Result"),) for i in range(3)))
    assert _steps(protocol, "Worker[1]")[-1] == lt.Recv("Master", "Bonus")


def test_parameter_family_defaults_to_three_and_binds() -> None:
    protocol = _protocol("family_parameter")
    assert protocol.roles == ("Leader", "Followers[0]", "Followers[1]", "Followers[2]")
    assert [d.code for d in protocol.diagnostics] == ["I001"]
    bound = protocol.bind(N=5)
    assert bound.roles[-1] == "Followers[4]" and protocol.roles[-1] == "Followers[2]"
    assert not bound.diagnostics


def test_star_family_with_a_range() -> None:
    protocol = _protocol("family_star_range").bind(Signers=4)
    coordinator = _steps(protocol, "Coordinator")
    assert coordinator[:2] == (lt.Send("Signers[0]", "Request"), lt.Send("Signers[1]", "Request"))
    assert _steps(protocol, "Signers[3]") == ()


def test_min_responses_gives_a_quorum() -> None:
    leader = _steps(_protocol("family_quorum"), "Leader")
    assert isinstance(leader[-1], lt.Quorum) and leader[-1].min == 2
    assert [r.from_ for r in leader[-1].body] == ["Voters[0]", "Voters[1]", "Voters[2]"]


def test_rec_and_continue_are_kept_and_an_uninvolved_role_gets_no_recursion() -> None:
    protocol = _protocol("rec_continue")
    b = _steps(protocol, "B")
    assert isinstance(b[0], lt.Rec) and b[0].label == "Again"
    offer = b[0].body[0]
    assert isinstance(offer, lt.Offer)
    assert offer.branches[0].body == (lt.Continue("Again"),)
    assert _steps(protocol, "C") == (lt.Recv("A", "Finished"),)


def test_counted_loops_project_to_loop_for_roles_in_the_body() -> None:
    protocol = _protocol("counted_loop")
    a = _steps(protocol, "A")
    assert [type(s) for s in a] == [lt.Loop, lt.Loop]
    assert isinstance(a[1], lt.Loop) and a[1].var == "round"
    assert [type(s) for s in _steps(protocol, "B")] == [lt.Loop]


@pytest.mark.parametrize(
    ("name", "decider", "other"),
    [("decided_loop", "Client", "Server"), ("custom_loop", "Producer", "Consumer")],
)
def test_decided_and_custom_loops_are_rec_with_a_choice(name: str, decider: str, other: str) -> None:
    protocol = _protocol(name)
    rec = _steps(protocol, decider)[0]
    assert isinstance(rec, lt.Rec)
    choose = rec.body[0]
    assert isinstance(choose, lt.Choose) and [b.label for b in choose.branches] == ["continue", "stop"]
    assert choose.branches[0].body[-1] == lt.Continue(rec.label)
    assert isinstance(_steps(protocol, other)[0], lt.Rec)
    assert len(_steps(protocol, decider)) == 2  # the statement after the loop is kept


def test_open_loop_break_moves_the_rest_into_the_other_branch() -> None:
    producer = _steps(_protocol("open_loop"), "Producer")
    rec, after = producer
    assert isinstance(rec, lt.Rec) and after == lt.Send("Consumer", "End")
    cond = rec.body[-1]
    assert isinstance(cond, lt.If)
    assert cond.branches[0].body == ()
    assert cond.branches[1].body == (lt.Recv("Consumer", "Ack"), lt.Continue(rec.label))


def test_parallel_projects_to_par_and_a_role_in_one_branch_gets_that_branch() -> None:
    protocol = _protocol("parallel")
    a = _steps(protocol, "A")
    assert a == (lt.Par(((lt.Send("B", "Left"),), (lt.Send("C", "Right"), lt.Recv("C", "Back")))),)
    assert _steps(protocol, "B") == (lt.Recv("A", "Left"), lt.Send("C", "After"))


def test_sub_protocols_are_inlined_with_roles_substituted() -> None:
    protocol = _protocol("sub_protocol_call")
    assert _steps(protocol, "Seller") == (
        lt.Recv("Buyer", "Payment", (lt.PayloadItem("amount", _u64()),)),
        lt.Send("Buyer", "Receipt"),
        lt.Send("Bank", "Payment", (lt.PayloadItem("amount", _u64()),)),
        lt.Recv("Bank", "Receipt"),
    )


def _u64() -> TypeRef:
    return TypeRef("u64")


def test_shared_knowledge_match_adds_no_message() -> None:
    protocol = _protocol("shared_match")
    assert not any(isinstance(s, core.Message) and s.notification for s in core.walk(protocol.body))
    for role in protocol.roles:
        last = _steps(protocol, role)[-1]
        assert isinstance(last, lt.If) and last.patterns == ("Vote::Commit", "Vote::Abort")
        assert [b.label for b in last.branches] == ["Commit", "Abort"]
    assert not protocol.diagnostics


def test_unknown_condition_is_decided_by_the_first_sender() -> None:
    primary = _steps(_protocol("if_decided_by_first_sender"), "Primary")
    assert isinstance(primary[0], lt.Choose) and primary[0].choice == "retry_requested"
    assert primary[0].expr is not None


def test_sugar_expands_to_messages() -> None:
    protocol = _protocol("sugar")
    labels = [m.label for m in core.messages_in(protocol.body)]
    assert labels[:7] == [
        "HelloStep1",
        "HelloStep2",
        "HelloStep3Request",
        "HelloStep3Response",
        "SyncRequest",
        "SyncResponse",
        "Announce",
    ]
    assert labels.count("BarrierArrive") == 2 and labels.count("BarrierRelease") == 2
    assert _steps(protocol, "C")[-2] == lt.Local("Log", (Literal(1),))


def test_timeout_and_saga_fields() -> None:
    protocol = _protocol("timeout_and_saga")
    client_timeout = _steps(protocol, "Client")[1]
    server_timeout = _steps(protocol, "Server")[1]
    assert isinstance(client_timeout, lt.Timeout) and client_timeout.waiter
    assert client_timeout.deadline_ms == 5000
    assert isinstance(server_timeout, lt.Timeout) and not server_timeout.waiter
    saga = _steps(protocol, "Store")[0]
    assert isinstance(saga, lt.Try) and saga.coordinator == "Server"
    assert saga.participants == ("Server", "Store")


def test_one_w102_per_choice_names_every_notified_family_instance() -> None:
    protocol = choreography(
        """
        choreography Sync {
            roles: Coordinator, Replicas[3]
            choice Coordinator {
                push: { Coordinator -> Replicas[*]: Delta }
                skip: { }
            }
        }
        """
    )
    w102 = [d for d in protocol.diagnostics if d.code == "W102"]
    assert len(w102) == 1
    assert "roles `Replicas[0]`, `Replicas[1]` and `Replicas[2]`" in w102[0].message
    for instance in ("Replicas[0]", "Replicas[1]", "Replicas[2]"):
        offer = _steps(protocol, instance)[0]
        assert isinstance(offer, lt.Offer) and [b.label for b in offer.branches] == ["push", "skip"]


def test_strict_choice_still_reports_each_role_with_its_own_fix() -> None:
    with pytest.raises(ChoreographyError) as caught:
        choreography(
            "#[strict_choice]\nchoreography S { roles: C, R[2]\n"
            "choice C { a: { C -> R[*]: X } b: { } } }"
        )
    e080 = [d for d in caught.value.diagnostics if d.code == "E080"]
    assert [("R[0]" in d.message, "R[1]" in d.message) for d in e080] == [(True, False), (False, True)]
