"""Properties: bad input never raises (only `parse` raises, and only ChoreographyError), and
`parse(format_source(x)) == x` for generated ASTs and for everything that parses."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from syntax_ast_strategies import source_files

from aura_choreo.errors import ChoreographyError
from aura_choreo.syntax import ast, format_source, parse, parse_source
from conftest import seed_files

SOUP_TOKENS = [
    "choreography",
    "protocol",
    "roles",
    ":",
    ";",
    ",",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "<",
    ">",
    "->",
    "<->",
    "->*",
    "=>",
    "::",
    "..",
    "|",
    "||",
    "&&",
    "!",
    "@",
    "#",
    "=",
    "==",
    "+",
    "-",
    "*",
    ".",
    "choice",
    "at",
    "when",
    "match",
    "if",
    "else",
    "loop",
    "count",
    "decides",
    "custom",
    "for",
    "in",
    "break",
    "rec",
    "continue",
    "parallel",
    "par",
    "barrier",
    "let",
    "call",
    "compose",
    "sub_protocol",
    "timeout",
    "or",
    "try",
    "compensate",
    "import",
    "choreography!",
    "aura_choreography!",
    'r#"',
    '"#',
    "A",
    "B",
    "W",
    "Label",
    "x",
    "0",
    "3",
    "1_000",
    "30s",
    "5_minutes",
    '"str"',
    '"bad\\q"',
    "/*",
    "*/",
    "//",
    "\n",
    "\n",
    "true",
    "None",
    "$",
    '"',
]
PREFIXES = ["", "choreography X {\n roles: A, B, W[3];\n", "choreography! { P { roles: A, B\n"]


def _parse_never_raises_unexpectedly(text: str) -> None:
    result = parse_source(text, "soup.choreo")
    assert all(d.span.file == "soup.choreo" for d in result.diagnostics)
    try:
        parse(text, "soup.choreo")
    except ChoreographyError as exc:
        assert exc.diagnostics
        assert not result.ok
    else:
        assert result.ok


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    _parse_never_raises_unexpectedly(data.decode("utf-8", errors="replace"))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PREFIXES), st.lists(st.sampled_from(SOUP_TOKENS), max_size=60))
def test_random_token_soups_never_raise(prefix: str, tokens: list[str]) -> None:
    _parse_never_raises_unexpectedly(prefix + " ".join(tokens))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 400), st.sampled_from(["(", "[", "{", "!", "not ", "- ", "Vec<"]))
def test_deep_nesting_is_a_diagnostic_not_a_crash(depth: int, opener: str) -> None:
    text = f"choreography X {{\n roles: A, B;\n let x = {opener * depth}1;\n A -> B: M({opener * depth});\n}}"
    _parse_never_raises_unexpectedly(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source_files("gen.choreo"))
def test_format_then_parse_is_the_identity_on_generated_asts(file: ast.SourceFile) -> None:
    text = format_source(file)
    result = parse_source(text, "gen.choreo")
    assert [d for d in result.diagnostics if d.code == "E001"] == [], text
    assert result.file == file, text


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(PREFIXES[1:]), st.lists(st.sampled_from(SOUP_TOKENS), max_size=40))
def test_formatting_whatever_parses_cleanly_is_stable(prefix: str, tokens: list[str]) -> None:
    result = parse_source(prefix + " ".join(tokens), "soup.choreo")
    if any(d.code == "E001" for d in result.diagnostics):
        return
    text = format_source(result.file)
    again = parse_source(text, "soup.choreo")
    assert again.file == result.file, text
    assert format_source(again.file) == text


SEED_TEXTS = [p.read_text(encoding="utf-8") for p in seed_files()]
EDITS = st.lists(
    st.tuples(st.integers(0, 10**6), st.integers(0, 20), st.sampled_from(["", *SOUP_TOKENS])), max_size=4
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SEED_TEXTS), EDITS)
def test_edited_seeds_never_raise_and_what_parses_formats_stably(
    text: str, edits: list[tuple[int, int, str]]
) -> None:
    for position, deleted, inserted in edits:  # delete `deleted` characters at `position`, insert a token
        at = position % (len(text) + 1)
        text = f"{text[:at]} {inserted} {text[at + deleted :]}"
    _parse_never_raises_unexpectedly(text)
    result = parse_source(text, "soup.choreo")
    if not any(d.code == "E001" for d in result.diagnostics):
        again = parse_source(format_source(result.file), "soup.choreo")
        assert again.file == result.file
