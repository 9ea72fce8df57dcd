"""Every diagnostic code the semantic stage owns: golden rendering plus what it must name."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aura_choreo.diagnostics import Diagnostic, render_all
from aura_choreo.semantics import check_all, check_choreography
from aura_choreo.syntax import parse_source

Golden = Callable[[str, str], None]

CASES: dict[str, str] = {
    "E012_self_send": """
choreography SelfSend {
    roles: A, B
    A -> A: Hello
    A -> B: World
}
""",
    "E014_unbound_parameter": """
choreography Unbound {
    roles: Leader, Followers[N]
    Leader -> Followers[*]: Ping
}
""",
    "E020_undefined_sub_protocol": """
choreography Undefined {
    roles: A, B
    protocol Handshake(X, Y) { X -> Y: Hi }
    call Handshak(A, B)
}
""",
    "E021_recursive_call": """
choreography Recursive {
    roles: A, B
    protocol Ping(X, Y) {
        X -> Y: Ping
        call Pong(Y, X)
    }
    protocol Pong(X, Y) {
        X -> Y: Pong
        call Ping(Y, X)
    }
    call Ping(A, B)
}
""",
    "E022_wrong_role_count": """
choreography WrongCount {
    roles: A, B, C
    protocol Pair(X, Y) { X -> Y: Hi }
    call Pair(A, B, C)
}
""",
    "E030_empty_choice": """
choreography Empty {
    roles: A, B
    choice A { }
    A -> B: After
}
""",
    "E031_duplicate_label": """
choreography Duplicate {
    roles: A, B
    choice A {
        go: { A -> B: Go }
        go: { A -> B: Again }
    }
}
""",
    "E032_guard_unknown_to_decider": """
choreography Guard {
    roles: A, B, C
    B -> C: Quote(price: u64)
    choice A {
        buy when (price > 10): { A -> C: Buy }
        skip: { A -> C: Skip }
    }
}
""",
    "E032_no_single_decider": """
choreography NoDecider {
    roles: A, B, C
    C -> A: Reading(level: u64)
    if level > 3 {
        A -> B: High
    } else {
        B -> A: Low
    }
}
""",
    "E040_parallel_conflict": """
choreography Conflict {
    roles: A, B
    parallel {
        A -> B: Data
        | A -> B: Data
    }
}
""",
    "E050_break_and_continue": """
choreography Misplaced {
    roles: A, B
    break
    rec L { A -> B: Ping }
    continue L
    loop (count: 2) {
        A -> B: Tick
        break
    }
}
""",
    "E070_timeout_alternative": """
choreography BadTimeout {
    roles: Client, Server, Audit
    timeout(2s) {
        Server -> Client: Response
    } or {
        Server -> Audit: Late
    }
}
""",
    "E070_saga_without_coordinator": """
choreography BadSaga {
    roles: A, B, C
    try {
        A -> B: Work
    } compensate {
        parallel {
            A -> B: Undo
            | C -> B: UndoToo
        }
    }
}
""",
    "W100_unused_role": """
choreography Unused {
    roles: A, B, Spectator
    A -> B: Hello
}
""",
    "W103_unreachable": """
choreography Forever {
    roles: A, B
    loop {
        A -> B: Tick
    }
    A -> B: Never
}
""",
    "W104_orphan": """
choreography Orphan {
    roles: Client, Server
    Client -> Server: Request
    timeout(1s) {
        Server -> Client: Response
    } or {
        Client: GiveUp()
    }
}
""",
    "E090_duplicate_name": """
choreography Twice { roles: A, B
    A -> B: One }
choreography Twice { roles: A, B
    A -> B: Two }
""",
    "I001_default_binding": """
choreography Threshold {
    roles: Coordinator, Signers[*]
    Coordinator -> Signers[*]: Request
    Signers[0..threshold] -> Coordinator: Response
}
""",
}


def _diagnostics(name: str, *, default: int | None = 3) -> tuple[list[Diagnostic], dict[str, str]]:
    filename = f"{name}.choreo"
    parsed = parse_source(CASES[name], filename)
    assert not [d for d in parsed.diagnostics if d.is_error], parsed.diagnostics
    checked = check_all(parsed.file.choreographies, default_parameter=default)
    found = list(checked.diagnostics) + [d for p in checked.protocols for d in p.diagnostics]
    return found, {filename: CASES[name]}


@pytest.mark.parametrize("name", sorted(CASES))
def test_diagnostic_golden(name: str, golden: Golden) -> None:
    default = None if name.startswith("E014") else 3
    diagnostics, sources = _diagnostics(name, default=default)
    code = name.split("_", 1)[0]
    assert code in {d.code for d in diagnostics}
    golden(f"{name}.txt", render_all(diagnostics, sources) + "\n")


def _only(name: str, code: str) -> list[Diagnostic]:
    return [d for d in _diagnostics(name)[0] if d.code == code]


def test_self_send_names_the_role_and_points_at_the_statement() -> None:
    [d] = _only("E012_self_send", "E012")
    assert "`A`" in d.message and d.span.line == 4


def test_unbound_parameter_without_default() -> None:
    [d] = [x for x in _diagnostics("E014_unbound_parameter", default=None)[0] if x.code == "E014"]
    assert "`N`" in d.message and "bind" in d.hints[0]


def test_undefined_sub_protocol_suggests_the_close_name() -> None:
    [d] = _only("E020_undefined_sub_protocol", "E020")
    assert "`Handshak`" in d.message and d.hints == ("did you mean `Handshake`?",)


def test_recursive_call_shows_the_cycle() -> None:
    [d] = _only("E021_recursive_call", "E021")
    assert "Recursive -> Ping -> Pong -> Ping" in d.message


def test_wrong_role_count_says_how_many() -> None:
    [d] = _only("E022_wrong_role_count", "E022")
    assert "takes 2 role(s) (X, Y), got 3" in d.message


def test_guard_unknown_to_the_decider() -> None:
    [d] = _only("E032_guard_unknown_to_decider", "E032")
    assert "`price`" in d.message and "`A`" in d.message


def test_no_single_decider_names_the_roles_that_do_not_know() -> None:
    [d] = _only("E032_no_single_decider", "E032")
    assert "`B`" in d.message and "A, B" in d.message


def test_each_misplaced_break_and_continue_is_reported() -> None:
    found = _only("E050_break_and_continue", "E050")
    assert [d.span.line for d in found] == [4, 6, 9]


def test_timeout_alternative_and_saga_structure() -> None:
    [alt] = _only("E070_timeout_alternative", "E070")
    assert "`Server`" in alt.message and "`Audit`" in alt.message
    [saga] = _only("E070_saga_without_coordinator", "E070")
    assert "A, C" in saga.message


def test_unused_role_is_a_warning_naming_it() -> None:
    [d] = _only("W100_unused_role", "W100")
    assert "`Spectator`" in d.message and not d.is_error


def test_unreachable_statement_after_an_endless_loop() -> None:
    [d] = _only("W103_unreachable", "W103")
    assert d.span.line == 7 and "line 4" in d.message


def test_break_leaves_the_rest_of_its_block_unreachable() -> None:
    text = "choreography X {\n roles: A, B\n loop {\n  A -> B: M\n  if done { break\n A -> B: Dead }\n }\n}\n"
    parsed = parse_source(text, "x.choreo")
    checked = check_choreography(parsed.file.choreographies[0])
    assert [d.code for d in checked.diagnostics] == ["W103"]


def test_duplicate_choreography_names() -> None:
    [d] = _only("E090_duplicate_name", "E090")
    assert "`Twice`" in d.message and d.span.line == 4


def test_defaults_are_reported_once_per_parameter() -> None:
    found = _only("I001_default_binding", "I001")
    assert len(found) == 2 and not any(d.is_error for d in found)


def test_given_parameters_are_not_reported() -> None:
    parsed = parse_source(CASES["I001_default_binding"], "t.choreo")
    checked = check_choreography(parsed.file.choreographies[0], params={"Signers": 4, "threshold": 2})
    assert checked.diagnostics == ()
    assert checked.roles == ("Coordinator", "Signers[0]", "Signers[1]", "Signers[2]", "Signers[3]")
    assert checked.param_map == {"Signers": 4, "threshold": 2}


def test_a_statement_after_continue_is_unreachable_and_not_run() -> None:
    text = "choreography X {\n roles: A, B\n rec L {\n  A -> B: M\n  continue L\n  A -> B: Dead\n }\n}\n"
    checked = check_choreography(parse_source(text, "x.choreo").file.choreographies[0])
    [w103] = checked.diagnostics
    assert w103.code == "W103" and w103.span.line == 6 and "continue L" in w103.message


def test_continue_of_an_outer_rec_inside_a_loop_is_not_followed_by_the_loop_jump() -> None:
    from aura_choreo.semantics import core

    text = (
        "choreography X {\n roles: A, B\n rec L {\n  loop {\n   choice A {\n"
        "    again: { A -> B: Again\n continue L }\n    stop: { A -> B: Stop\n break }\n   }\n  }\n }\n}\n"
    )
    checked = check_choreography(parse_source(text, "x.choreo").file.choreographies[0])
    assert checked.ok
    choice = next(s for s in core.walk(checked.body) if isinstance(s, core.Choice))
    again, stop = choice.branches
    assert again.body[-1] == core.Continue("L") and not any(isinstance(s, core.Continue) for s in stop.body)


def test_a_payload_field_python_would_mangle_is_e015_once_per_field() -> None:
    # hunt6: `__y` validated, then the runtime's msgspec Struct refused it (an internal error under
    # simulate); the message sits in a loop over a family so the field is expanded three times.
    text = (
        "choreography K { roles: A, B[3]\n"
        " for i in 0..3 { A -> B[i]: M(ok: i32, __y: i32, __class__: i32) } }"
    )
    parsed = parse_source(text, "t.choreo")
    checked = check_choreography(parsed.file.choreographies[0])
    found = [d for d in checked.diagnostics if d.code == "E015"]
    assert [d.is_error for d in found] == [True, True]
    assert "`__y`" in found[0].message and "`__class__`" in found[1].message
    assert (found[0].span.line, found[0].span.column) == (2, 40)
    assert "leading `__`" in render_all(found, {"t.choreo": text})
