"""Knowledge of choice looks through `rec`/`continue` (issue 11 item 8, SPEC §3.4).

A role that can tell a choice's branches apart once `continue X` is unfolded (the next iteration
starts with a different message than the other branch) needs no notification: no W102, no E080
under strict choice, and its local type follows the choice by what it receives. A role that really
cannot tell still gets one.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from aura_choreo import choreography
from aura_choreo.cli.main import cli
from aura_choreo.projection.local_types import Continue, Offer, Rec, Recv
from aura_choreo.runtime.monitor import Monitor
from aura_choreo.verify import verify_protocol

UNFOLD = """protocol Unfold { roles: A, B;
  rec X { A -> B: M1; choice A { b1: { continue X } b2: { A -> B: M2; continue X } b3: { A -> B: Stop } } }
}
"""

SAME_PREFIX = """protocol SamePrefix { roles: A, B;
  rec X {
    A -> B: M1
    choice A { b1: { A -> B: M; continue X } b2: { A -> B: M; A -> B: N; continue X } b3: { A -> B: Stop } }
  }
}
"""

OTHER_SENDER = """protocol OtherSender { roles: A, B, C;
  rec X {
    A -> B: M1; A -> C: Go
    choice A { b1: { A -> C: Again; continue X } b2: { A -> C: Relay; C -> B: M2; continue X } }
  }
}
"""


def _validate(tmp_path: Path, text: str, *options: str) -> tuple[int, str]:
    path = tmp_path / "p.choreo"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", *options, str(path)])
    return result.exit_code, result.output


def test_a_branch_told_apart_by_the_next_iteration_needs_no_notification(tmp_path: Path) -> None:
    protocol = choreography(UNFOLD)
    assert not [d for d in protocol.diagnostics if d.code == "W102"]
    assert _validate(tmp_path, UNFOLD, "--strict", "--strict-choice") == (0, "ok: 1 choreography in 1 file\n")


def test_the_role_follows_the_choice_by_what_it_receives_next() -> None:
    (rec,) = choreography(UNFOLD).local_type("B").steps
    assert isinstance(rec, Rec) and rec.label == "X"
    first, inner = rec.body
    assert first == Recv("A", "M1")
    assert isinstance(inner, Rec)
    (offer,) = inner.body
    assert isinstance(offer, Offer) and offer.from_ == "A"
    bodies = {b.label: b.body for b in offer.branches}
    assert bodies == {"M1": (Continue(inner.label),), "M2": (Continue("X"),), "Stop": ()}


def test_a_monitor_accepts_every_branch_sequence_of_the_unfolded_type() -> None:
    monitor = Monitor(choreography(UNFOLD).local_type("B"))
    for label in ["M1", "M1", "M2", "M1", "M2", "M1", "Stop"]:
        monitor.on_receive("A", label)
    assert monitor.done


def test_same_label_prefixes_whose_continuations_differ_after_unfolding(tmp_path: Path) -> None:
    protocol = choreography(SAME_PREFIX)
    assert not [d for d in protocol.diagnostics if d.code == "W102"]
    assert _validate(tmp_path, SAME_PREFIX, "--strict", "--strict-choice")[0] == 0
    monitor = Monitor(protocol.local_type("B"))
    for label in ["M1", "M", "M1", "M", "N", "M1", "Stop"]:
        monitor.on_receive("A", label)
    assert monitor.done


def test_unfolded_types_verify_deadlock_free() -> None:
    for text in (UNFOLD, SAME_PREFIX):
        assert verify_protocol(choreography(text).local_types()).deadlock_free


def test_a_role_that_hears_from_another_sender_still_gets_a_notification(tmp_path: Path) -> None:
    warnings = [d for d in choreography(OTHER_SENDER).diagnostics if d.code == "W102"]
    assert len(warnings) == 1 and "role `B`" in warnings[0].message
    code, output = _validate(tmp_path, OTHER_SENDER, "--strict-choice")
    assert code == 1 and "error[E080]" in output


LEAVES = """protocol Leaves { roles: A, B;
  rec X { A -> B: Ping; choice A { again: { continue X } stop: { } } }
  A -> B: Bye
}
"""


def test_a_branch_that_leaves_the_rec_is_told_apart_by_what_follows_it(tmp_path: Path) -> None:
    protocol = choreography(LEAVES)
    assert not [d for d in protocol.diagnostics if d.code == "W102"]
    assert _validate(tmp_path, LEAVES, "--strict", "--strict-choice")[0] == 0
    (rec,) = protocol.local_type("B").steps  # what follows the rec moved into its way out
    assert isinstance(rec, Rec)
    for run in (["Ping", "Bye"], ["Ping", "Ping", "Ping", "Bye"]):
        monitor = Monitor(protocol.local_type("B"))
        for label in run:
            monitor.on_receive("A", label)
        assert monitor.done
    assert verify_protocol(protocol.local_types()).deadlock_free


def test_a_branch_that_leaves_into_silence_still_needs_a_notification() -> None:
    text = LEAVES.replace("Leaves", "Silent").replace("  A -> B: Bye\n", "")
    warnings = [d for d in choreography(text).diagnostics if d.code == "W102"]
    assert len(warnings) == 1 and "role `B`" in warnings[0].message
