"""Partial-order reduction never changes the verdict, and its counterexamples replay (property tests)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from verify_replay import enabled, machines_of, replay

from aura_choreo.projection.local_types import Branch, Choose, Continue, LocalType, Offer, Rec, Recv, Send
from aura_choreo.verify import FindingKind, verify_machines

ROLES = ("A", "B", "C")
LABELS = ("X", "Y")
ERRORS = {
    FindingKind.DEADLOCK,
    FindingKind.UNSPECIFIED_RECEPTION,
    FindingKind.ORPHAN_MESSAGE,
    FindingKind.CANNOT_REACH_END,
}


@st.composite
def _steps(draw, role: str, depth: int, in_rec: bool):  # type: ignore[no-untyped-def]
    peers = [r for r in ROLES if r != role]
    steps = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(
            st.sampled_from(["send", "recv", "choose", "offer", "rec"] if depth else ["send", "recv"])
        )
        peer = draw(st.sampled_from(peers))
        if kind == "send":
            steps.append(Send(peer, draw(st.sampled_from(LABELS))))
        elif kind == "recv":
            steps.append(Recv(peer, draw(st.sampled_from(LABELS))))
        elif kind in ("choose", "offer"):
            branches = tuple(
                Branch(label, tuple(draw(_steps(role, depth - 1, in_rec))))
                for label in draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=2, unique=True))
            )
            if kind == "choose":
                branches = tuple(Branch(b.label, (Send(peer, b.label), *b.body)) for b in branches)
                steps.append(Choose(branches))
            else:
                steps.append(Offer(peer, branches))
        elif not in_rec:
            body = tuple(draw(_steps(role, depth - 1, True)))
            steps.append(Rec("L", (Choose((Branch("again", (*body, Continue("L"))), Branch("stop", ()))),)))
    return steps


@st.composite
def _systems(draw):  # type: ignore[no-untyped-def]
    count = draw(st.integers(2, 3))
    return [LocalType("P", r, tuple(draw(_steps(r, 2, False)))) for r in ROLES[:count]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_systems())
def test_por_preserves_the_verdict_and_never_adds_states(types: list[LocalType]) -> None:
    machines = machines_of(*types)
    reduced, reduced_findings = verify_machines(machines, por=True, bound=2)
    full, full_findings = verify_machines(machines, por=False, bound=2)
    assert reduced.states <= full.states
    reduced_kinds = {f.kind for f in reduced_findings if f.kind in ERRORS}
    full_kinds = {f.kind for f in full_findings if f.kind in ERRORS}
    assert reduced_kinds == full_kinds


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_systems(), st.booleans())
def test_every_counterexample_replays_to_the_state_it_describes(types: list[LocalType], por: bool) -> None:
    machines = machines_of(*types)
    _, findings = verify_machines(machines, por=por, bound=2)
    for finding in findings:
        if finding.kind not in ERRORS:
            continue
        config = replay(machines, finding.steps)  # asserts every step is possible
        if finding.kind in (FindingKind.DEADLOCK, FindingKind.ORPHAN_MESSAGE):
            assert enabled(machines, config) == []
        if finding.kind is FindingKind.ORPHAN_MESSAGE:
            assert any(config.channels.values())
