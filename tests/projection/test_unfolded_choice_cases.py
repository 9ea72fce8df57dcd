"""The four places issue 11 item 8 left conservative, each with a twin that must still be refused.

A role that can tell a choice's branches apart by what it receives after the choice gets no
notification (no W102, no E080 under `--strict-choice`), and the protocol runs on a lossy network
with every trace checked; a role that cannot (same label, or it would have to act before it knows)
is still notified.
(a) the choice is not the last statement of the rec body; (b) a rec between the choice and the message
that tells its branches apart; (c) branches told apart only by messages from different senders: never
accepted (the role would wait on two channels at once, and the next round's message from one sender
can overtake the other's); (d) the choice sits in a branch of a choice by another role.
"""

from __future__ import annotations

import pytest

from aura_choreo import ChoreographyError, choreography
from aura_choreo.projection.local_types import Offer, Rec, Recv
from aura_choreo.testing.simulation import SimulationConfig, simulate
from aura_choreo.transports.network import LinkModel, NetworkModel
from aura_choreo.verify import verify_protocol

NOT_LAST = """protocol NotLast { roles: A, B;
  rec X {
    A -> B: M1
    choice A { b1: { } b2: { A -> B: M2 } }
    A -> B: Tail
    choice A { again: { A -> B: Again; continue X } stop: { A -> B: Stop } }
  }
}"""
NOT_LAST_TWIN = NOT_LAST.replace("b2: { A -> B: M2 }", "b2: { A -> B: Tail; B -> A: Ack }")
"""B receives Tail first in both branches, and must then answer Ack in b2 only: it cannot know whether."""

NOT_LAST_UNFOLD = """protocol NotLastUnfold { roles: A, B;
  rec X {
    A -> B: M1
    choice A { b1: { continue X } b2: { A -> B: M2; continue X } b3: { A -> B: Stop } }
    A: Log()
  }
}"""

NESTED_REC = """protocol NestedRec { roles: A, B;
  rec X {
    A -> B: Outer
    choice A {
      again: { rec Y { choice A { tick: { A -> B: Tick; continue Y } tock: { A -> B: Tock } } } continue X }
      other: { A -> B: Other; continue X }
      done: { A -> B: Done }
    }
  }
}"""
NESTED_REC_TWIN = NESTED_REC.replace("A -> B: Tick; continue Y", "A -> B: Other; B -> A: Ack; continue Y")
"""After Other, B would have to answer Ack in the inner loop but not in `other`: it cannot know which."""

INNER_REC = """protocol InnerRec { roles: A, B;
  rec X {
    A -> B: Head
    rec Y { A -> B: Item; choice A { more: { continue Y } next: { continue X } end: { A -> B: End } } }
  }
}"""
INNER_REC_TWIN = INNER_REC.replace("A -> B: Head", "A -> B: Item; B -> A: Ack")
"""`next` then starts with Item too, after which B must answer Ack, which `more` does not: B cannot know.
(With Item alone B need not know: it receives Items until End either way, and that merge is accepted.)"""

OTHER_SENDER = """protocol OtherSenderLeave { roles: A, B, C;
  rec X { A -> B: Ping; choice A { again: { A -> C: More; continue X } stop: { A -> C: Done; C -> B: Bye } } }
}"""

ANCESTOR = """protocol AncestorRec { roles: A, B, C;
  rec X {
    C -> A: Round; A -> B: M1
    choice C {
      go: { C -> A: Go; choice A { b1: { continue X } b2: { A -> B: M2; continue X } } }
      end: { C -> A: End; A -> B: Stop }
    }
  }
}"""
ANCESTOR_TWIN = ANCESTOR.replace("A -> B: Stop", "A -> B: M2")
"""`end` sends M2 too: after M2, B cannot know whether a round follows (b2) or the protocol ended."""

ACCEPTED = {
    "a": NOT_LAST,
    "a_unfold": NOT_LAST_UNFOLD,
    "b": NESTED_REC,
    "b_inner": INNER_REC,
    "d": ANCESTOR,
}
REFUSED = {
    "a": NOT_LAST_TWIN,
    "b": NESTED_REC_TWIN,
    "b_inner": INNER_REC_TWIN,
    "c": OTHER_SENDER,
    "d": ANCESTOR_TWIN,
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_a_role_that_tells_the_branches_apart_after_the_choice_needs_no_notification(case: str) -> None:
    text = ACCEPTED[case]
    assert not [d for d in choreography(text).diagnostics if d.code == "W102"]
    strict = choreography(text, strict_choice=True)  # no E080 either
    assert verify_protocol(strict.local_types()).deadlock_free


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_the_accepted_protocols_run_on_a_lossy_network(case: str) -> None:
    config = SimulationConfig(network=NetworkModel(LinkModel(drop=0.1)))
    report = simulate(choreography(ACCEPTED[case]), runs=50, config=config, check=True)
    assert report.ok, report.summary()


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_role_that_cannot_tell_is_still_notified(case: str) -> None:
    text = REFUSED[case]
    warnings = [d for d in choreography(text).diagnostics if d.code == "W102"]
    assert warnings and "role `B`" in warnings[0].message
    with pytest.raises(ChoreographyError) as refused:
        choreography(text, strict_choice=True)
    assert "E080" in {d.code for d in refused.value.diagnostics}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_the_notified_twins_run_on_a_lossy_network(case: str) -> None:
    config = SimulationConfig(network=NetworkModel(LinkModel(drop=0.1)))
    report = simulate(choreography(REFUSED[case]), runs=20, config=config, check=True)
    assert report.ok, report.summary()


def test_the_role_follows_a_choice_that_is_not_last_by_what_comes_after_it() -> None:
    (rec,) = choreography(NOT_LAST).local_type("B").steps
    assert isinstance(rec, Rec)
    first, offer, final = rec.body  # M1; Tail (b1) or M2 then Tail (b2); the last choice as written
    assert first == Recv("A", "M1") and isinstance(final, Offer)
    assert isinstance(offer, Offer)
    assert {b.label: b.body for b in offer.branches} == {"Tail": (), "M2": (Recv("A", "Tail"),)}


LEAVE_ELSEWHERE = """protocol LeaveElsewhere { roles: A, B;
  rec X {
    A -> B: P
    choice A { x: { A -> B: Q; choice A { again: { continue X } stop: { } } } y: { A -> B: R } }
  }
  A -> B: Bye
}"""


def test_what_follows_a_rec_is_looked_at_only_when_the_choice_is_its_only_way_out() -> None:
    # The rec is also left through `y`: a merge holding `Bye` on the inner choice's ways out dropped it
    # after `y` (a false E102 "Bye never read"); now B is told, and every run ends cleanly.
    protocol = choreography(LEAVE_ELSEWHERE)
    assert [d.code for d in protocol.diagnostics] == ["W102"]
    assert verify_protocol(protocol.local_types()).deadlock_free
    config = SimulationConfig(network=NetworkModel(LinkModel(drop=0.1)))
    assert simulate(protocol, runs=20, config=config, check=True).ok
