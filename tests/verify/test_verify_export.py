"""DOT and Mermaid exports, and the DOT parser (round trip, hand-written files, errors)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from verify_replay import lt

from aura_choreo.projection.local_types import Branch, Continue, Offer, Quorum, Rec, Recv, Send, Timeout
from aura_choreo.verify import DotParseError, Machine, compile_machine, parse_dot, to_dot, to_mermaid
from aura_choreo.verify.export import machine_to_dot
from aura_choreo.verify.fsm import Action

SERVER = lt(
    "Server",
    Rec(
        "L",
        (
            Offer(
                "Client",
                (
                    Branch("Get", (Send("Client", "Data"), Continue("L"))),
                    Branch("Quit", ()),
                ),
            ),
        ),
    ),
    Timeout(500, (Recv("Client", "Bye"),), ()),
    protocol="Demo",
)


def _without_branch_tags(m: Machine) -> Machine:
    return dataclasses.replace(
        m, transitions=tuple(dataclasses.replace(t, branches=frozenset()) for t in m.transitions), branches=()
    )


def test_dot_export_golden(golden: Callable[[str, str], None]) -> None:
    golden("server.dot", to_dot(SERVER))


def test_mermaid_export_golden(golden: Callable[[str, str], None]) -> None:
    golden("server.mmd", to_mermaid(SERVER))


@pytest.mark.parametrize(
    "local_type",
    [
        SERVER,
        lt("C", Quorum(2, tuple(Recv(f"S[{i}]", "Vote") for i in range(3))), Send("S[0]", "Done")),
        lt("A"),
    ],
)
def test_dot_round_trip_gives_the_same_machine(local_type) -> None:  # type: ignore[no-untyped-def]
    machine = compile_machine(local_type)
    assert parse_dot(machine_to_dot(machine)) == _without_branch_tags(machine)


def test_hand_written_dot_without_start_marker_starts_at_the_first_state_and_ends_at_sinks() -> None:
    m = parse_dot("""
        # a hand-written server
        digraph Server {
          idle -> busy [label="Client?Req"]
          busy -> done [label="Client!Resp"]   // reply
        }
    """)
    assert m.role == "Server" and m.initial == 0
    assert [(t.source, t.action.text(), t.target) for t in m.transitions] == [
        (0, "Client?Req", 1),
        (1, "Client!Resp", 2),
    ]
    assert m.finals == frozenset({2})


def test_finals_can_be_marked_with_peripheries_and_initial_with_an_attribute() -> None:
    m = parse_dot("""digraph "P.R" {
        a [peripheries=2]; b [initial=true];
        b -> a [label="X!M"]; a -> b [label="X?N"];
    }""")
    assert m.role == "R"
    assert m.transitions[0].action == Action.send("X", "M")
    assert m.initial == 0 and m.finals == frozenset({1})


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('digraph R {\n  a -> b [label="B!"];\n}', "needs a peer and a label", 2),
        ("digraph R {\n  a -> b;\n}", "has no label", 2),
        ('graph R { a -- b [label="B!X"]; }', "digraph", 1),
        ('digraph R {\n a -> b [label="B!X"]\n', "missing `}`", 3),
        ('digraph R { a -> b [label="B!X"] } extra', "after the graph", 1),
        ('digraph R { a -> b [label="B!X]; }', "unterminated string", 1),
        ('digraph R {\n a -> b [label="hello"]; }', "expected `Peer!Label`", 2),
        ('digraph R { a [discard="B!X"]; a -> b [label="B?Y"]; }', "discard lists", 0),
        ('digraph R { a [discard="zzz"]; a -> b [label="B?Y"]; }', "discard", 0),
    ],
)
def test_bad_dot_is_an_error_with_its_position(text: str, message: str, line: int) -> None:
    with pytest.raises(DotParseError, match=message) as caught:
        parse_dot(text, file="impl.dot")
    assert caught.value.line in (line, 0)
    assert "impl.dot" in str(caught.value)


_name = st.from_regex(r"[A-Z][A-Za-z0-9_]{0,6}(\[[0-9]\])?", fullmatch=True)
_label = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
_action = st.one_of(
    st.builds(Action.send, _name, _label),
    st.builds(Action.recv, _name, _label),
    st.builds(Action.tau, st.just("") | _label),
    st.builds(Action.coin, st.from_regex(r"if [a-z]{1,4} > [0-9]", fullmatch=True), _label),
)


@settings(max_examples=60, deadline=None)
@given(_action)
def test_action_text_round_trips(action: Action) -> None:
    assert Action.parse(action.text()) == action


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), _action, st.integers(0, 4)), max_size=8),
    st.frozensets(st.integers(0, 4)),
)
def test_any_machine_round_trips_through_dot(edges, finals) -> None:  # type: ignore[no-untyped-def]
    from aura_choreo.verify.fsm import Transition

    transitions = tuple(dict.fromkeys(Transition(s, a, t) for s, a, t in edges))
    machine = Machine("R", 5, 0, finals or frozenset({4}), transitions)
    assert parse_dot(machine_to_dot(machine)) == machine


_noise = st.text(alphabet='digraph{}[]=;,->"\\/*#\n abcs0123!?:_.', max_size=80)
_dot_noise = _noise | _noise.map(lambda body: "digraph R {" + body + "}")


@settings(max_examples=150, deadline=None)
@given(_dot_noise)
def test_any_text_either_parses_or_is_a_dot_parse_error(text: str) -> None:
    try:
        parse_dot(text, role="R")
    except DotParseError:
        pass
