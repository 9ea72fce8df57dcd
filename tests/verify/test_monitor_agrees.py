"""The model checker's state machines agree with the monitor, the one interpreter of local types.

Random walks of whole protocols run through the roles' monitors (`testing.walk`); each role's sends and
receipts must be a run of the machine `compile_machine` builds for it (internal steps and shared
coins in between are free), and a walk that ends must end in a final state of every machine.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aura_choreo import choreography
from aura_choreo.protocol import Protocol
from aura_choreo.testing.walk import WalkEvent, walk
from aura_choreo.verify.compile import compile_machine
from aura_choreo.verify.fsm import Action, ActionKind, Machine
from conftest import loadable_corpus_protocols


def _closure(machine: Machine, states: Iterable[int]) -> set[int]:
    """The states reachable by internal steps (tau, coins) from `states`."""
    out = machine.outgoing
    seen = set(states)
    stack = list(seen)
    while stack:
        state = stack.pop()
        for index in out[state]:
            t = machine.transitions[index]
            if t.action.kind in (ActionKind.TAU, ActionKind.COIN) and t.target not in seen:
                seen.add(t.target)
                stack.append(t.target)
    return seen


def accepts(machine: Machine, events: list[WalkEvent], *, complete: bool) -> str:
    """Empty when the machine can do `events` (and end, if `complete`); otherwise what it could not."""
    current = _closure(machine, [machine.initial])
    for position, event in enumerate(events):
        if event.kind == "choose":
            continue  # a choice is a tau edge or the branch's first send: the next event decides
        make = Action.send if event.kind == "send" else Action.recv
        wanted = make(event.peer, event.label)
        following = {
            machine.transitions[i].target
            for s in current
            for i in machine.outgoing[s]
            if machine.transitions[i].action == wanted
        }
        if not following:
            return f"{machine.role}: event {position} ({wanted.text()}) is not a step of the machine"
        current = _closure(machine, following)
    if complete and not current & machine.finals:
        return f"{machine.role}: the walk ended but the machine is not in a final state"
    return ""


def check_agreement(protocol: Protocol, seeds: Iterable[int]) -> None:
    local_types = protocol.local_types()
    machines = {role: compile_machine(lt) for role, lt in local_types.items()}
    for seed in seeds:
        result = walk(local_types, seed)
        for role, machine in machines.items():
            problem = accepts(machine, result.of(role), complete=result.ok)
            assert not problem, f"{protocol.qualified_name} seed {seed}: {problem}"


CORPUS = loadable_corpus_protocols()


@pytest.mark.parametrize(("name", "protocol"), CORPUS, ids=[n for n, _ in CORPUS])
def test_walks_of_the_corpus_are_runs_of_the_model_checkers_machines(name: str, protocol: Protocol) -> None:
    check_agreement(protocol, range(3))


def test_a_walk_the_machine_cannot_do_is_reported() -> None:
    # The check can fail: a machine of another protocol does not accept this protocol's walk.
    one = choreography("choreography X { roles: A, B; A -> B: M; B -> A: N; }")
    other = choreography("choreography X { roles: A, B; A -> B: M; A -> B: N; }")
    result = walk(one.local_types(), 0)
    assert result.ok
    assert accepts(compile_machine(other.local_type("B")), result.of("B"), complete=True)


@st.composite
def _loops(draw: st.DrawFn) -> str:
    count = draw(st.integers(min_value=0, max_value=3))
    inner = draw(st.sampled_from(["A -> B: Ping; B -> A: Pong;", "A -> B: Ping;", "B -> A: Pong;"]))
    return f"""
    choreography L {{
        roles: A, B, C;
        loop (count: {count}) {{ {inner} }}
        loop (decides: A) {{ A -> C: Work(v: u32); if v > 4 {{ C -> B: Big; }} else {{ C -> B: Small; }} }}
        parallel {{ A -> B: Left; | C -> B: Right; }}
    }}
    """


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_loops(), st.integers(min_value=0, max_value=1000))
def test_walks_of_loops_and_branches_are_runs_of_the_machines(text: str, seed: int) -> None:
    check_agreement(choreography(text), [seed])
