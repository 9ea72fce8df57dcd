"""`causal_order`: any interleaving of the roles' own traces checks like the run it came from."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from aura_choreo import Protocol, load
from aura_choreo.runtime.trace import TraceEvent
from aura_choreo.testing.simulation import run_simulation
from aura_choreo.testing.trace_check import check_trace
from aura_choreo.testing.trace_merge import causal_order
from conftest import SHARED

# Several roles, quorums, loops and fault-free stragglers: interleavings that matter.
FILES = [
    Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo",
    SHARED / "corpus" / "literature" / "three_phase_commit.choreo",
    SHARED / "corpus" / "literature" / "federated_learning_round.choreo",
]
PROTOCOLS = [load(f) for f in FILES]


def per_role(events: list[TraceEvent]) -> list[list[TraceEvent]]:
    roles = sorted({e.role for e in events})
    return [[e for e in events if e.role == role] for role in roles]


def interleave(traces: list[list[TraceEvent]], rng: random.Random) -> list[TraceEvent]:
    """A random interleaving keeping each role's order (receives may well precede their sends)."""
    heads = [0] * len(traces)
    out: list[TraceEvent] = []
    while len(out) < sum(map(len, traces)):
        live = [i for i, t in enumerate(traces) if heads[i] < len(t)]
        pick = rng.choice(live)
        out.append(traces[pick][heads[pick]])
        heads[pick] += 1
    return out


@settings(max_examples=40, deadline=None)
@given(which=st.integers(0, len(PROTOCOLS) - 1), run_seed=st.integers(0, 50), mix=st.randoms())
def test_any_interleaving_of_a_real_run_passes(which: int, run_seed: int, mix: random.Random) -> None:
    protocol: Protocol = PROTOCOLS[which]
    events = list(run_simulation(protocol, run_seed).trace)
    assert check_trace(protocol, events).ok
    assert check_trace(protocol, interleave(per_role(events), mix)).ok


def test_a_trace_already_in_causal_order_keeps_its_order() -> None:
    events = list(run_simulation(PROTOCOLS[1], 3).trace)
    ranked = [[(i, e) for i, e in enumerate(events) if e.role == role] for role in {e.role for e in events}]
    assert [e for _, e in causal_order(ranked)] == events


def test_every_arrival_follows_its_send_and_each_role_keeps_its_order() -> None:
    events = list(run_simulation(PROTOCOLS[2], 5).trace)
    shuffled = interleave(per_role(events), random.Random(7))
    ordered = [e for _, e in causal_order([[(e.time, e) for e in t] for t in per_role(shuffled)])]
    assert sorted(map(id, ordered)) == sorted(map(id, events))
    position = {id(e): i for i, e in enumerate(ordered)}
    sends = {(e.sender, e.receiver, e.seq): position[id(e)] for e in ordered if e.kind == "send" and e.seq}
    for event in ordered:
        if event.kind in ("recv", "discard", "late") and event.seq:
            assert sends[(event.sender, event.receiver, event.seq)] < position[id(event)]
    for trace in per_role(events):
        assert [position[id(e)] for e in trace] == sorted(position[id(e)] for e in trace)
