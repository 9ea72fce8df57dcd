"""Machine sets that are wrong: each finding comes with a shortest run, replayed here step by step."""

from __future__ import annotations

from verify_replay import all_final, enabled, lt, machines_of, replay

from aura_choreo.projection.local_types import Branch, Choose, Continue, Offer, Rec, Recv, Send
from aura_choreo.verify import FindingKind, explore, verify_machines, verify_protocol
from aura_choreo.verify.trace import TraceStep


def _only(findings, kind):  # type: ignore[no-untyped-def]
    found = [f for f in findings if f.kind is kind]
    assert len(found) == 1, [f.message for f in findings]
    return found[0]


def test_two_roles_each_waiting_for_the_other_is_a_deadlock_in_the_initial_state() -> None:
    machines = machines_of(lt("A", Recv("B", "X"), Send("B", "Y")), lt("B", Recv("A", "Y"), Send("A", "X")))
    result = explore(list(machines.values()))
    finding = _only(result.findings, FindingKind.DEADLOCK)
    assert finding.code == "E100"
    assert finding.steps == ()
    assert "A waits for B?X" in finding.message and "B waits for A?Y" in finding.message
    config = replay(machines, finding.steps)
    assert enabled(machines, config) == [] and not all_final(machines, config)


def test_deadlock_after_some_progress_has_its_shortest_run() -> None:
    a = lt("A", Send("B", "Hello"), Recv("C", "Token"), Send("C", "Bye"))
    b = lt("B", Recv("A", "Hello"), Recv("C", "Token"))
    c = lt("C", Recv("A", "Bye"), Send("A", "Token"), Send("B", "Token"))
    machines = machines_of(a, b, c)
    result = explore(list(machines.values()))
    finding = _only(result.findings, FindingKind.DEADLOCK)
    assert finding.steps == (TraceStep("A", "send", "B", "Hello"), TraceStep("B", "recv", "A", "Hello"))
    config = replay(machines, finding.steps)
    assert enabled(machines, config) == []
    assert config.states["A"] not in machines["A"].finals


def test_a_message_nobody_reads_is_an_orphan_at_termination() -> None:
    machines = machines_of(lt("A", Send("B", "Ping"), Send("B", "Extra")), lt("B", Recv("A", "Ping")))
    result = explore(list(machines.values()))
    finding = _only(result.findings, FindingKind.ORPHAN_MESSAGE)
    assert finding.code == "E102" and "A -> B: Extra" in finding.message
    assert [s.text() for s in finding.steps] == [
        "A sends Ping to B",
        "A sends Extra to B",
        "B receives Ping from A",
    ]
    config = replay(machines, finding.steps)
    assert all_final(machines, config)
    assert config.queue("A", "B") == ["Extra"]
    assert enabled(machines, config) == []


def test_a_label_the_receiver_cannot_take_is_an_unspecified_reception() -> None:
    machines = machines_of(
        lt("A", Choose((Branch("yes", (Send("B", "Yes"),)), Branch("no", (Send("B", "No"),))))),
        lt("B", Offer("A", (Branch("Yes", ()),))),
    )
    result = explore(list(machines.values()))
    finding = _only(result.findings, FindingKind.UNSPECIFIED_RECEPTION)
    assert finding.code == "E101"
    assert finding.steps == (TraceStep("A", "send", "B", "No"),)
    config = replay(machines, finding.steps)
    assert config.queue("A", "B") == ["No"]
    assert enabled(machines, config) == []
    assert not any(f.kind is FindingKind.DEADLOCK for f in result.findings), "reported once, as E101"


def test_a_loop_nobody_can_leave_means_the_other_role_cannot_reach_its_end() -> None:
    pinger = lt("A", Rec("L", (Send("B", "Ping"), Recv("B", "Pong"), Continue("L"))))
    ponger = lt(
        "B",
        Rec(
            "L",
            (
                Offer(
                    "A",
                    (
                        Branch("Ping", (Send("A", "Pong"), Continue("L"))),
                        Branch("Stop", ()),
                    ),
                ),
            ),
        ),
    )
    machines = machines_of(pinger, ponger)
    result = explore(list(machines.values()))
    finding = _only(result.findings, FindingKind.CANNOT_REACH_END)
    assert finding.code == "E103" and finding.roles == ("B",)
    assert finding.steps == ()
    # A never ends by design (no exit in its own machine), so it is not reported.
    assert not any("A can" in f.message for f in result.findings)


def test_livelock_after_a_choice_is_found_at_the_state_where_the_end_is_lost() -> None:
    chooser = lt(
        "A",
        Choose(
            (
                Branch("finish", (Send("B", "Stop"),)),
                Branch("spin", (Send("B", "Spin"), Rec("L", (Send("C", "Tick"), Continue("L"))))),
            )
        ),
    )
    waiter = lt("B", Offer("A", (Branch("Stop", ()), Branch("Spin", (Recv("A", "Never"),)))))
    ticker = lt("C", Rec("L", (Offer("A", (Branch("Tick", (Continue("L"),)), Branch("Done", ()))),)))
    machines = machines_of(chooser, waiter, ticker)
    _, findings = verify_machines(machines, por=False)
    roles = {r for f in findings if f.kind is FindingKind.CANNOT_REACH_END for r in f.roles}
    assert "C" in roles
    stuck_b = [f for f in findings if f.kind is FindingKind.CANNOT_REACH_END and f.roles == ("B",)]
    assert stuck_b and stuck_b[0].steps[0] == TraceStep("A", "send", "B", "Spin")
    config = replay(machines, stuck_b[0].steps)
    assert config.queue("A", "B") in (["Spin"], [])


def test_counterexamples_are_shortest() -> None:
    # A can reach the bad send directly or after a detour through a loop; BFS reports the direct run.
    a = lt(
        "A",
        Rec(
            "L",
            (
                Choose(
                    (
                        Branch("again", (Send("B", "More"), Continue("L"))),
                        Branch("bad", (Send("B", "Oops"),)),
                    )
                ),
            ),
        ),
    )
    b = lt("B", Rec("L", (Offer("A", (Branch("More", (Continue("L"),)),)),)))
    result = explore(list(machines_of(a, b).values()))
    finding = _only(result.findings, FindingKind.UNSPECIFIED_RECEPTION)
    assert finding.steps == (TraceStep("A", "send", "B", "Oops"),)


def test_a_send_loop_racing_ahead_hits_the_bound_but_is_not_a_deadlock() -> None:
    a = lt("A", Rec("L", (Send("B", "Tick"), Continue("L"))))
    b = lt("B", Recv("A", "Tick"))
    result = explore(list(machines_of(a, b).values()), bound=2)
    kinds = {f.kind for f in result.findings}
    assert result.bound_reached
    assert FindingKind.DEADLOCK not in kinds


def test_every_role_blocked_on_a_full_channel_is_reported_as_inconclusive() -> None:
    a = lt("A", Send("B", "One"), Send("B", "Two"), Send("B", "Three"))
    b = lt("B", Recv("C", "Never"), Recv("A", "One"))
    c = lt("C")
    result = explore(list(machines_of(a, b, c).values()), bound=2)
    kinds = [f.kind for f in result.findings]
    assert FindingKind.BOUND_REACHED in kinds
    assert FindingKind.DEADLOCK not in kinds


def test_the_state_limit_stops_early_and_says_so() -> None:
    a = lt("A", *[Send("B", f"M{i}") for i in range(6)])
    b = lt("B", *[Recv("A", f"M{i}") for i in range(6)])
    result = explore(list(machines_of(a, b).values()), max_states=5, por=False)
    assert not result.complete
    assert result.states == 5
    assert [f.code for f in result.findings] == ["W107"]


def test_a_run_stuck_at_the_bound_is_not_claimed_deadlock_free() -> None:
    # With 2 slots A blocks on a full channel while B waits for C: inconclusive (W106), not "free";
    # with 4 slots the same protocol shows its real deadlock.
    a = lt("A", Send("B", "One"), Send("B", "Two"), Send("B", "Three"))
    b = lt("B", Recv("C", "Go"), Recv("A", "One"), Recv("A", "Two"), Recv("A", "Three"))
    tight = verify_protocol({"A": a, "B": b, "C": lt("C")}, bound=2)
    assert not tight.deadlock_free
    assert [f.code for f in tight.findings] == ["W106"]
    roomy = verify_protocol({"A": a, "B": b, "C": lt("C")}, bound=4)
    assert [f.code for f in roomy.findings] == ["E100"]
