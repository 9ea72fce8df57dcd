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
from test_verify_por_property import _systems

from aura_choreo.errors import ChoreographyError
from aura_choreo.projection.local_types import LocalType
from aura_choreo.protocol import load_all
from aura_choreo.verify import Machine, MachineCompileError, compile_machine
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
