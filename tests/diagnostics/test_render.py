from __future__ import annotations

from aura_choreo.diagnostics import (
    Severity,
    Span,
    did_you_mean,
    error,
    promote_warnings,
    render_all,
    render_diagnostic,
    sort_diagnostics,
    warning,
)

SOURCE = """choreography TwoPhase {
    roles: Coordinator, Participant;
    Participnt -> Coordinator: Vote;
}
"""


def test_error_renders_location_source_line_caret_and_hint(golden) -> None:
    d = error(
        "E010",
        Span("tpc.choreo", 3, 5, 3, 15),
        "undefined role `Participnt`",
        did_you_mean("Participnt", ["Coordinator", "Participant"]),
    )
    golden("undefined_role.txt", render_diagnostic(d, SOURCE))


def test_extra_hints_follow_as_help_lines(golden) -> None:
    d = warning("W101", Span("tpc.choreo", 2, 5, 2, 10), "unknown annotation", "first", "second")
    golden("two_hints.txt", render_diagnostic(d, SOURCE))


def test_without_source_only_the_headline_is_printed() -> None:
    d = error("E001", Span("gone.choreo", 7, 2, 7, 3), "unexpected `}`")
    assert render_diagnostic(d, None) == "gone.choreo:7:2: error[E001]: unexpected `}`"


def test_caret_is_clamped_to_the_line_for_multiline_spans() -> None:
    d = error("E030", Span("tpc.choreo", 1, 1, 4, 2), "empty choice")
    text = render_diagnostic(d, SOURCE)
    caret_line = text.splitlines()[-1]
    assert caret_line.count("^") == len("choreography TwoPhase {")


def test_tabs_are_expanded_so_the_caret_lines_up() -> None:
    source = "\tA -> B: M;\n"
    d = error("E010", Span("t.choreo", 1, 2, 1, 3), "undefined role `A`")
    lines = render_diagnostic(d, source).splitlines()
    assert lines[2].index("A") == lines[3].index("^")


def test_colour_only_when_asked() -> None:
    d = error("E010", Span("t.choreo", 1, 1, 1, 2), "x")
    assert "\x1b[" not in render_diagnostic(d, "A\n")
    assert "\x1b[" in render_diagnostic(d, "A\n", colour=True)


def test_summary_counts_errors_and_warnings() -> None:
    ds = [
        error("E010", Span("a", 1, 1, 1, 2), "x"),
        warning("W100", Span("a", 2, 1, 2, 2), "y"),
        warning("W101", Span("a", 3, 1, 3, 2), "z"),
    ]
    assert render_all(ds, {}).endswith("1 error, 2 warnings emitted")


def test_json_form_has_the_spec_fields() -> None:
    d = error("E010", Span("tpc.choreo", 3, 5, 3, 15), "undefined role", "did you mean `A`?")
    data = d.to_json()
    for key in ("code", "severity", "file", "line", "column", "message", "hints"):
        assert key in data
    assert data["severity"] == "error"
    assert data["line"] == 3 and data["column"] == 5
    assert data["hints"] == ["did you mean `A`?"]


def test_did_you_mean_finds_close_names_and_nothing_for_far_ones() -> None:
    assert did_you_mean("Cordinator", ["Coordinator", "Participant"]) == "did you mean `Coordinator`?"
    assert did_you_mean("coordinator", ["Coordinator"]) == "did you mean `Coordinator`?"
    assert did_you_mean("Xyz", ["Coordinator"]) == ""


def test_sorting_is_by_position_and_removes_duplicates() -> None:
    a = error("E010", Span("f", 5, 1, 5, 2), "late")
    b = error("E010", Span("f", 2, 9, 2, 10), "early")
    assert sort_diagnostics([a, b, a]) == [b, a]


def test_strict_promotes_warnings_to_errors() -> None:
    w = warning("W100", Span("f", 1, 1, 1, 2), "unused role")
    assert promote_warnings([w])[0].severity is Severity.ERROR
