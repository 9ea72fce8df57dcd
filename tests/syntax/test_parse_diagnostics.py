"""Rendered-text goldens for every diagnostic code the front end owns, and recovery after errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aura_choreo.diagnostics import render_all
from aura_choreo.syntax import load_sources, parse_source
from aura_choreo.syntax.ast import Send

CASES: dict[str, str] = {
    "E001_several_errors_in_one_file": """\
choreography Broken {
    roles: A, B, C;
    A -> B: First;
    A -> : Missing;
    B -> C Second;
    C -> A: Third(x: );
    choice A { yes: { A -> B: Y } no { A -> B: N } }
    A -> C: Last;
}
""",
    "E001_lexical_errors": """\
choreography Lex {
    roles: A, B;
    A -> B: M(5x);
    A -> B: N $;
    let s = "open
    let t = "\\q";
    B -> A: Kept;
}
""",
    "E001_missing_roles_and_brace": """\
choreography NoRoles {
    A -> B: M;
""",
    "E001_keyword_typo": """\
choreography Typo {
    roles: A, B;
    chioce A {
        x: { A -> B: X }
    }
}
""",
    "E001_roles_without_colon": """\
choreography Colon {
    roles A, B;
    A -> B: M;
}
""",
    "E001_top_level": """\
choregraphy Bad {
    roles: A;
}

choreography Good {
    roles: A, B;
    A -> B: M;
}
""",
    "E001_missing_brace_in_a_choice": """\
choreography Unclosed {
    roles: A, B;
    choice A {
        yes: {
            A -> B: Y;
    }
    B -> A: After;
}
""",
    "E010_undefined_role": """\
choreography TwoPhase {
    roles: Coordinator, Participant;
    Coordinator -> Participnt: Prepare;
    Nobody -> Coordinator: Vote;
    protocol Sub(X, Y) {
        X -> Y: Fine;
        X -> Z: NotFine;
    }
}
""",
    "E011_duplicate_role": """\
choreography Dup {
    roles: A, B, A[3];
    A -> B: M;
}
""",
    "E013_index_out_of_range": """\
choreography Idx {
    roles: M, W[3], F[N];
    M -> W[3]: Over;
    M -> W[1..4]: Range;
    M -> W[2..1]: Empty;
    M[0] -> W[0]: NotAFamily;
    M -> F[99]: Fine;
}
""",
    "E060_annotation_types": """\
choreography Ann {
    roles: A, B;
    A[flow_cost = -5, journal_merge = "yes", guard_capability = 3] -> B: M;
    [@leakage_budget = [1, 2], @timeout = "soon", @retry = 1, @retry = 2]
    B -> A: N;
    A[min_responses = true, journal_facts = [1]] -> B: O;
}
""",
    "W101_unknown_annotation": """\
#[namespace = "n", strict_choise]
choreography Warn {
    roles: A, B;
    A[flow_cots = 5, priority = 1] -> B: M;
    @frobnicate
    B -> A: N;
}
""",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_diagnostic_golden(name: str, golden: Callable[[str, str], None]) -> None:
    filename = f"{name}.choreo"
    result = parse_source(CASES[name], filename)
    code = name.split("_")[0]
    assert any(d.code == code for d in result.diagnostics)
    golden(f"diagnostics_{name}.txt", render_all(result.diagnostics, {filename: CASES[name]}) + "\n")


def test_recovery_keeps_every_good_statement() -> None:
    result = parse_source(CASES["E001_several_errors_in_one_file"], "x.choreo")
    assert [d.line for d in (d.span for d in result.diagnostics)] == [4, 5, 6, 7]
    body = result.file.choreographies[0].body
    labels = [s.message.label for s in body if isinstance(s, Send) and s.message]
    assert labels == ["First", "Last"]


def test_an_error_in_one_choreography_keeps_the_next() -> None:
    result = parse_source(CASES["E001_top_level"], "x.choreo")
    assert [c.name for c in result.file.choreographies] == ["Good"]


def test_lexical_errors_do_not_stop_parsing() -> None:
    result = parse_source(CASES["E001_lexical_errors"], "x.choreo")
    body = result.file.choreographies[0].body
    assert isinstance(body[-1], Send) and body[-1].message is not None
    assert body[-1].message.label == "Kept"


def test_extension_keys_are_accepted_silently() -> None:
    text = "choreography X {\n    roles: A, B;\n    A[my_ext = 1] -> B: M;\n}\n"
    assert [d.code for d in parse_source(text).diagnostics] == ["W101"]
    assert parse_source(text, extra_annotation_keys=["my_ext"]).diagnostics == []


def test_free_index_variables_and_parameters_are_not_roles() -> None:
    text = (
        "choreography X {\n    roles: L, F[N];\n    L -> F[*]: P;\n    F[i] -> L: V;\n    L -> F[0..k]: Q;\n}"
    )
    assert parse_source(text).diagnostics == []


@pytest.fixture
def import_tree(tmp_path: Path) -> Path:
    (tmp_path / "lib").mkdir()
    (tmp_path / "main.choreo").write_text(
        'import "lib/common.choreo";\nimport "missing.choreo";\n'
        "choreography Main {\n    roles: A, B;\n    A -> B: M;\n}\n"
    )
    (tmp_path / "lib" / "common.choreo").write_text(
        'import "../main.choreo";\nchoreography Common {\n    roles: X, Y;\n    X -> Y: N;\n}\n'
    )
    return tmp_path


def test_E002_import_errors_golden(import_tree: Path, golden: Callable[[str, str], None]) -> None:
    result = load_sources(import_tree / "main.choreo")
    text = render_all(result.diagnostics, result.sources).replace(str(import_tree), "<tmp>")
    golden("diagnostics_E002_import_errors.txt", text + "\n")


def test_a_repeated_or_non_string_namespace_is_E060() -> None:
    repeated = '#[namespace = "a", namespace = "b"]\nchoreography X {\n    roles: A;\n}\n'
    not_a_string = "#[namespace = 5]\nchoreography X {\n    roles: A;\n}\n"
    for text in (repeated, not_a_string):
        result = parse_source(text)
        assert [d.code for d in result.diagnostics] == ["E060"]
        assert result.file.choreographies[0].namespace is None
