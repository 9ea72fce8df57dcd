"""check_trace accepts every real run and rejects traces that depart from the protocol."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from aura_choreo import Protocol, choreography, load
from aura_choreo.runtime.trace import Trace, TraceEvent
from aura_choreo.testing.simulation import run_simulation, simulate
from aura_choreo.testing.trace_check import check_trace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def tpc() -> Protocol:
    return load(EXAMPLES / "two_phase_commit.choreo")


@pytest.fixture(scope="module")
def tpc_trace(tpc: Protocol) -> list[TraceEvent]:
    return list(run_simulation(tpc, 1).trace)


def messages(report: object) -> list[str]:
    return [str(issue) for issue in report.issues]  # type: ignore[attr-defined]


def test_real_runs_of_both_branches_pass(tpc: Protocol) -> None:
    report = simulate(tpc, seed=0, runs=12)
    labels = {e.label for r in report.runs for e in r.trace}
    assert {"CommitRequest", "AbortRequest"} <= labels  # both match arms were exercised
    for run in report.runs:
        assert check_trace(tpc, run.trace).ok


def test_jsonl_round_trip_still_passes(tpc: Protocol, tpc_trace: list[TraceEvent]) -> None:
    text = Trace(tpc_trace).to_jsonl()
    assert check_trace(tpc, Trace.from_jsonl(text)).ok


def test_local_types_work_as_the_protocol(tpc: Protocol, tpc_trace: list[TraceEvent]) -> None:
    assert check_trace(tpc.local_types(), tpc_trace).ok
    assert check_trace(list(tpc.local_types().values()), tpc_trace).ok


def test_missing_receive_is_reported_for_the_role_and_the_channel(
    tpc: Protocol, tpc_trace: list[TraceEvent]
) -> None:
    index = next(i for i, e in enumerate(tpc_trace) if e.kind == "recv" and e.role == "Coordinator")
    report = check_trace(tpc, tpc_trace[:index] + tpc_trace[index + 1 :])
    assert not report.ok
    text = "\n".join(messages(report))
    assert "was sent but never arrived" in text
    assert "role Coordinator" in text


def test_a_message_received_but_never_sent_is_reported(tpc: Protocol, tpc_trace: list[TraceEvent]) -> None:
    index = next(i for i, e in enumerate(tpc_trace) if e.kind == "send" and e.role == "Participant")
    report = check_trace(tpc, tpc_trace[:index] + tpc_trace[index + 1 :], complete=False)
    assert any("was never sent before" in m for m in messages(report))


def test_roles_events_in_any_relative_order_pass(tpc: Protocol, tpc_trace: list[TraceEvent]) -> None:
    # SPEC 5.6: the roles' traces, concatenated, pass; here a receive is put before its send.
    swapped = [tpc_trace[1], tpc_trace[0], *tpc_trace[2:]]
    assert (tpc_trace[0].role, tpc_trace[0].kind, tpc_trace[1].kind) == ("Coordinator", "send", "recv")
    assert check_trace(tpc, swapped).ok


def test_a_causal_cycle_is_reported(tpc: Protocol, tpc_trace: list[TraceEvent]) -> None:
    # The coordinator receives the vote before it sends the prepare that the vote answers: no order of
    # the two roles' events has every receive after its send.
    send = next(i for i, e in enumerate(tpc_trace) if e.role == "Coordinator" and e.kind == "send")
    recv = next(i for i, e in enumerate(tpc_trace) if e.role == "Coordinator" and e.kind == "recv")
    cycle = list(tpc_trace)
    cycle[send], cycle[recv] = cycle[recv], cycle[send]
    report = check_trace(tpc, cycle)
    assert any("never sent before" in m for m in messages(report))


def test_duplicate_delivery_is_reported(tpc: Protocol, tpc_trace: list[TraceEvent]) -> None:
    first_recv = next(e for e in tpc_trace if e.kind == "recv")
    report = check_trace(tpc, [*tpc_trace, first_recv])
    assert any("arrived twice" in m for m in messages(report))


def test_a_label_the_local_type_does_not_allow_is_a_violation(
    tpc: Protocol, tpc_trace: list[TraceEvent]
) -> None:
    bad = [replace(e, label="Bogus") if e.label == "PrepareResponse" else e for e in tpc_trace]
    report = check_trace(tpc, bad)
    text = "\n".join(messages(report))
    assert "expected send PrepareResponse to Coordinator, got send Bogus to Coordinator" in text
    assert "event 2" in text


def test_mixing_the_branches_of_a_match_is_a_violation(tpc: Protocol) -> None:
    commit = next(
        r for r in simulate(tpc, seed=0, runs=12).runs if "CommitRequest" in {e.label for e in r.trace}
    )
    # the coordinator took the Commit arm; make the participant answer as if it were the Abort arm
    bad = [
        replace(e, label="AbortAck") if e.label == "CommitAck" and e.role == "Participant" else e
        for e in commit.trace
    ]
    report = check_trace(tpc, bad)
    assert not report.ok
    assert any("role Participant" in m and "AbortAck" in m for m in messages(report))


def test_an_unfinished_role_fails_a_complete_check_but_not_a_partial_one(
    tpc: Protocol, tpc_trace: list[TraceEvent]
) -> None:
    prefix = tpc_trace[:4]
    assert check_trace(tpc, prefix, complete=False).ok
    report = check_trace(tpc, prefix)
    assert any("trace ends while the role still expects" in m for m in messages(report))


def test_fifo_violation_on_a_channel_is_reported() -> None:
    protocol = choreography("choreography Two { roles: A, B; A -> B: M; A -> B: M; }")

    def ev(kind: str, role: str, seq: int, index: int) -> TraceEvent:
        return TraceEvent(kind, "s", role, "A", "B", "M", seq, float(index), "Two")

    ordered = [ev("send", "A", 1, 0), ev("send", "A", 2, 1), ev("recv", "B", 1, 2), ev("recv", "B", 2, 3)]
    assert check_trace(protocol, ordered).ok
    crossed = [ev("send", "A", 1, 0), ev("send", "A", 2, 1), ev("recv", "B", 2, 2), ev("recv", "B", 1, 3)]
    report = check_trace(protocol, crossed)
    assert any("is not FIFO" in m for m in messages(report))


def test_traces_without_sequence_numbers_are_matched_by_order() -> None:
    protocol = choreography("choreography Two { roles: A, B; A -> B: M; B -> A: N; }")
    events = [
        TraceEvent("send", "s", "A", "A", "B", "M", 0, 0.0),
        TraceEvent("recv", "s", "B", "A", "B", "M", 0, 1.0),
        TraceEvent("send", "s", "B", "B", "A", "N", 0, 1.0),
        TraceEvent("recv", "s", "A", "B", "A", "N", 0, 2.0),
    ]
    assert check_trace(protocol, events).ok
    assert not check_trace(protocol, [events[1], events[0], *events[2:]]).ok


def test_every_session_of_a_trace_is_checked(tpc: Protocol) -> None:
    good = list(run_simulation(tpc, 1).trace)
    other = [replace(e, session="other") for e in run_simulation(tpc, 2).trace]
    report = check_trace(tpc, good + other[:-1])
    assert set(report.sessions) == {"sim-1", "other"}
    assert report.issues and all(i.session == "other" for i in report.issues)


def test_events_of_another_protocol_or_role_are_reported(tpc: Protocol, tpc_trace: list[TraceEvent]) -> None:
    assert any(
        "not TwoPhaseCommit" in m for m in messages(check_trace(tpc, [replace(tpc_trace[0], protocol="X")]))
    )
    stranger = replace(tpc_trace[0], role="Mallory")
    assert any("unknown role 'Mallory'" in m for m in messages(check_trace(tpc, [*tpc_trace, stranger])))


def test_par_and_quorum_protocol_traces_pass() -> None:
    protocol = choreography(
        """
        choreography Poll {
            roles: Leader, Voters[3];
            Leader -> Voters[*]: Ask;
            [@min_responses = 2]
            Voters[i] -> Leader: Answer;
            parallel { Leader -> Voters[0]: Done | Leader -> Voters[1]: Done }
        }
        """
    )
    report = simulate(protocol, seed=0, runs=5)
    assert report.ok, [str(r.failure) for r in report.failures]
    for run in report.runs:
        result = check_trace(protocol, run.trace)
        assert result.ok, messages(result)


def test_report_json_lists_issues(tpc: Protocol, tpc_trace: list[TraceEvent]) -> None:
    data = check_trace(tpc, tpc_trace[:-1]).to_json()
    assert data["ok"] is False and data["events"] == len(tpc_trace) - 1
    issue = data["issues"][0]  # type: ignore[index]
    assert set(issue) == {"session", "role", "event", "message"}


STREAM = """
choreography Stream {
    roles: P, C;
    loop (count: 300) {
        P -> C: Item(kind: Kind);
        match kind {
            Kind::A => { C -> P: Ack; C -> P: MoreA; }
            Kind::B => { C -> P: Ack; C -> P: MoreB; }
            Kind::C => { C -> P: Other; }
        }
    }
}
"""


def test_long_traces_with_undecidable_matches_check_without_a_search_explosion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aura_choreo.testing import trace_check

    protocol = choreography(STREAM)
    run = run_simulation(protocol, 5)
    assert run.ok, run.failure
    labels = [e.label for e in run.trace.deliveries()]
    assert {"MoreA", "MoreB", "Other"} <= set(labels)  # every arm was taken somewhere
    replays = 0
    real = trace_check._replay_once

    def counting(*args: object) -> object:
        nonlocal replays
        replays += 1
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(trace_check, "_replay_once", counting)
    assert check_trace(protocol, run.trace).ok
    # arms starting with another message are told apart at once; arms sharing their first message
    # cost one retry each time the guess was wrong: linear, not exponential
    assert replays <= 2 + labels.count("MoreB") * 2 * 3


def test_unknown_event_kinds_are_reported(tpc: Protocol, tpc_trace: list[TraceEvent]) -> None:
    report = check_trace(tpc, [*tpc_trace, replace(tpc_trace[0], kind="teleport")])
    assert any("unknown event kind 'teleport'" in m for m in messages(report))


SAGA_WITH_CONTROL_NAMED_MESSAGES = choreography(
    """
    choreography S {
      roles: A, B;
      try {
        A -> B: Done;
        B -> A: Commit;
      } compensate {
        A -> B: Undo;
      }
    }
    """
)


def test_saga_control_messages_are_marked_in_the_trace_not_guessed_by_label() -> None:
    # The protocol's own messages are called Done and Commit, like the saga's control messages.
    trace = run_simulation(SAGA_WITH_CONTROL_NAMED_MESSAGES, 1).trace
    kinds = {(e.kind, e.role, e.label, e.message_kind) for e in trace}
    assert ("send", "A", "Done", "user") in kinds and ("send", "B", "Done", "control") in kinds
    assert ("recv", "A", "Commit", "user") in kinds and ("recv", "B", "Commit", "control") in kinds
    assert check_trace(SAGA_WITH_CONTROL_NAMED_MESSAGES, trace).ok
    reloaded = Trace.from_jsonl(trace.to_jsonl())
    assert [e.message_kind for e in reloaded] == [e.message_kind for e in trace]
    assert check_trace(SAGA_WITH_CONTROL_NAMED_MESSAGES, reloaded).ok


def test_a_trace_line_without_message_kind_is_a_user_message() -> None:
    line = '{"kind": "send", "session": "s", "role": "A", "from": "A", "to": "B", "label": "Done", "seq": 1}'
    [event] = Trace.from_jsonl(line)
    assert event.message_kind == "user" and not event.is_control
    # Read as user messages, a saga's control traffic no longer fits the protocol.
    trace = run_simulation(SAGA_WITH_CONTROL_NAMED_MESSAGES, 1).trace
    old_style = [
        TraceEvent.from_json({k: v for k, v in e.to_json().items() if k != "message_kind"}) for e in trace
    ]
    assert not check_trace(SAGA_WITH_CONTROL_NAMED_MESSAGES, old_style).ok


def test_an_empty_trace_completes_a_protocol_whose_loops_run_zero_times() -> None:
    zero = choreography("choreography Zero { roles: A, B\n loop (count: 0) { A -> B: M1; } }")
    assert check_trace(zero, []).ok
    assert simulate(zero, runs=2, check=True).ok  # the simulator checks its traces the same way


def test_an_empty_trace_does_not_complete_a_protocol_with_work(tpc: Protocol) -> None:
    report = check_trace(tpc, [])
    assert not report.ok
    assert any("has no events" in m for m in messages(report))
