"""The explorer's speed-ups change no verdict (issue 19).

`_choose_moves` checks stability without building successors; the reference below is the previous
choice (every role's moves built, the first stable one without a back edge taken). Both must give the
same graph: the same states, transitions, findings with the same counterexamples, fired transitions.
Checked on random systems and on every protocol of the shared corpora (written by other people).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_verify_por_property import _systems

from aura_choreo.errors import ChoreographyError
from aura_choreo.projection.local_types import (
    Branch,
    Choose,
    Continue,
    LocalType,
    Par,
    Quorum,
    Rec,
    Recv,
    Send,
)
from aura_choreo.protocol import choreography, load_all
from aura_choreo.verify import (
    FindingKind,
    Machine,
    MachineCompileError,
    compile_machine,
    verify_machines,
    verify_protocol,
)
from aura_choreo.verify.product import Move, State
from conftest import SHARED

explore_module = importlib.import_module("aura_choreo.verify.explore")
CORPUS = sorted((SHARED / "corpus" / "seeds").glob("*.choreo")) + sorted(
    (SHARED / "corpus" / "literature").glob("*.choreo")
)
LARGE = {"bully_election"}
"""Explored twice (fast and reference) they take most of a minute: opt-in (`pytest -m slow`)."""


class _ReferenceExplorer(explore_module._Explorer):  # type: ignore[name-defined,misc]
    """The ample-set choice before issue 19: build every role's moves, take the first stable one."""

    def _choose_moves(self, st: State) -> list[Move]:
        everything: list[Move] = []
        for r in range(self.n):
            moves, stable = self.role_moves(st, r)
            if self.por and stable and moves and not any(code in self.back for code, _ in moves):
                return moves
            everything.extend(moves)
        return everything


def _same_exploration(machines: list[Machine], bound: int) -> None:
    fast = explore_module._Explorer(machines, bound, True, None).run()
    reference = _ReferenceExplorer(machines, bound, True, None).run()
    assert (fast.states, fast.transitions, fast.complete) == (reference.states, reference.transitions, True)
    assert fast.bound_reached == reference.bound_reached
    assert fast.fired == reference.fired
    assert [(f.kind, f.message, f.steps) for f in fast.findings] == [
        (f.kind, f.message, f.steps) for f in reference.findings
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_systems())
def test_the_cheap_ample_set_choice_explores_the_same_graph(types: list[LocalType]) -> None:
    _same_exploration([compile_machine(t) for t in types], bound=2)


def _corpus_machines(path: Path) -> list[list[Machine]]:
    try:
        protocols = load_all(path)
    except ChoreographyError:
        return []
    systems = []
    for protocol in protocols.values():
        try:
            systems.append([compile_machine(lt) for lt in protocol.local_types().values()])
        except MachineCompileError:
            continue
    return systems


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem in LARGE else []) for p in CORPUS],
)
def test_the_cheap_ample_set_choice_agrees_on_the_corpus(path: Path) -> None:
    for machines in _corpus_machines(path):
        _same_exploration(machines, bound=4)


# ---------------------------------------------------------------- collectors (compact fan-ins)

SENDERS = ("S0", "S1", "S2")
ERRORS = {
    FindingKind.DEADLOCK,
    FindingKind.UNSPECIFIED_RECEPTION,
    FindingKind.ORPHAN_MESSAGE,
    FindingKind.CANNOT_REACH_END,
    FindingKind.BOUND_REACHED,
}


@st.composite
def _fan_in_systems(draw):  # type: ignore[no-untyped-def]
    """A leader mixing fan-ins (a `par` of one receive per sender) with plain steps; senders that
    may or may not send what it waits for (so deadlocks, wrong messages and orphans all occur)."""
    labels = st.sampled_from(("X", "Y"))
    leader: list[object] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["fan-in", "fan-in", "send", "recv", "quorum"]))
        if kind in ("fan-in", "quorum"):
            peers = draw(st.lists(st.sampled_from(SENDERS), min_size=2, max_size=3, unique=True))
            recvs = tuple(Recv(p, draw(labels)) for p in peers)
            if kind == "fan-in":
                leader.append(Par(tuple((r,) for r in recvs)))
            else:
                leader.append(Quorum(draw(st.integers(1, len(recvs))), recvs))
        elif kind == "send":
            leader.append(Send(draw(st.sampled_from(SENDERS)), draw(labels)))
        else:
            leader.append(Recv(draw(st.sampled_from(SENDERS)), draw(labels)))
    if draw(st.booleans()):
        leader = [Rec("L", (Choose((Branch("again", (*leader, Continue("L"))), Branch("stop", ()))),))]
    types = [LocalType("P", "L", tuple(leader))]  # type: ignore[arg-type]
    coherent = draw(st.booleans())  # the senders' duals of the leader's steps, else random steps
    for sender in SENDERS:
        if coherent:
            steps = _duals(leader, sender)
            if steps and draw(st.integers(0, 4)) == 0:  # one slip: a wrong label or a missing step
                steps = steps[:-1] if draw(st.booleans()) else [*steps[:-1], Send("L", "Z")]
        else:
            steps = [
                Send("L", draw(labels)) if draw(st.booleans()) else Recv("L", draw(labels))
                for _ in range(draw(st.integers(0, 3)))
            ]
        types.append(LocalType("P", sender, tuple(steps)))
    return types


def _duals(leader: list[object], sender: str) -> list[Send | Recv]:
    """What `sender` does for the leader's straight-line steps (a loop's body once, then it stops)."""
    out: list[Send | Recv] = []
    for step in leader:
        if isinstance(step, Send | Recv) and (step.to if isinstance(step, Send) else step.from_) == sender:
            out.append(Recv("L", step.label) if isinstance(step, Send) else Send("L", step.label))
        elif isinstance(step, Par | Quorum):
            recvs = step.body if isinstance(step, Quorum) else tuple(b[0] for b in step.branches)
            out.extend(Send("L", r.label) for r in recvs if isinstance(r, Recv) and r.from_ == sender)
    return out


def _verdict(machines: dict[str, Machine], bound: int) -> tuple[bool, set[FindingKind]]:
    result, findings = verify_machines(machines, bound=bound)
    return result.complete, {f.kind for f in findings if f.kind in ERRORS}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_fan_in_systems(), st.integers(1, 3))
def test_a_collector_gives_the_verdict_of_the_explicit_fan_in(types: list[LocalType], bound: int) -> None:
    explicit = {t.role: compile_machine(t) for t in types}
    compact = {t.role: compile_machine(t, collect_from=2) for t in types}
    assert _verdict(compact, bound) == _verdict(explicit, bound)


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem in LARGE else []) for p in CORPUS],
)
def test_collectors_give_the_explicit_verdict_on_the_corpus(path: Path) -> None:
    try:
        protocols = load_all(path)
    except ChoreographyError:
        return
    for protocol in protocols.values():
        local_types = protocol.local_types()
        try:
            explicit = {r: compile_machine(lt) for r, lt in local_types.items()}
        except MachineCompileError:
            continue
        compact = {r: compile_machine(lt, collect_from=2) for r, lt in local_types.items()}
        assert _verdict(compact, 4) == _verdict(explicit, 4)


def test_a_fan_in_from_two_hundred_is_checked_not_refused() -> None:
    text = (
        "protocol Star { roles: Leader, W[200]; Leader -> W[*]: Task; W[*] -> Leader: Result;"
        " Leader -> W[*]: Done; }"
    )
    report = verify_protocol(choreography(text).local_types())
    assert report.deadlock_free and report.complete
    # linear, not 2^200: one persistent receive at a time
    assert report.states < 10 * 200


def test_a_wrong_answer_to_a_large_fan_in_is_still_an_unspecified_reception() -> None:
    leader = LocalType("P", "L", (Par(tuple((Recv(f"S{i}", "Ok"),) for i in range(10))),))
    senders = [LocalType("P", f"S{i}", (Send("L", "Ok" if i else "Bad"),)) for i in range(10)]
    machines = {t.role: compile_machine(t, collect_from=8) for t in (leader, *senders)}
    assert machines["L"].collectors and machines["L"].state_count < 10
    _, kinds = _verdict(machines, 4)
    assert kinds == {FindingKind.UNSPECIFIED_RECEPTION}
