"""`format_source` with the source's comments: every comment is kept, in place, and formatting twice
changes nothing more."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aura_choreo.syntax import format_source, parse_source
from conftest import seed_files

SEEDS = seed_files()
COMMENTED = """\
// header comment
import "x.choreo"; // after an import

/* before the annotation */
#[namespace = "n"]
choreography C {
    roles: A, // inside the roles
           B;


    // before the first statement
    A -> B: M; // trailing
    A[flow_cost = 5, // inside a statement split over lines
      priority = 1]
    -> B: N;
    choice A { // after the brace
        // before a branch
        yes: {
            A -> B: Y; /* block */ // and a line comment
            // closing the branch
        }
    }
    loop {
        /* a block comment
           over two lines */
        A -> B: L;
    } // after the loop

    // closing the choreography
}
// at the end
"""


def formatted_twice(text: str) -> tuple[str, str]:
    first = parse_source(text, "c.choreo")
    once = format_source(first.file, first.comments)
    second = parse_source(once, "c.choreo")
    assert second.file == first.file
    assert sorted(c.text for c in second.comments) == sorted(c.text for c in first.comments)
    return once, format_source(second.file, second.comments)


def test_comment_placement_golden(golden: Callable[[str, str], None]) -> None:
    once, twice = formatted_twice(COMMENTED)
    golden("format_comments.txt", once)
    assert twice == once


@pytest.mark.parametrize("path", SEEDS, ids=[p.name for p in SEEDS])
def test_formatting_a_seed_keeps_its_comments_and_is_idempotent(path: Path) -> None:
    once, twice = formatted_twice(path.read_text(encoding="utf-8"))
    assert twice == once


PIECES = ["// c", "/* b */", "/* two\n lines */", "\n", "\n\n\n", ";"]


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([p.read_text(encoding="utf-8") for p in SEEDS]),
    st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(PIECES)), max_size=5),
)
def test_comments_anywhere_survive_formatting(text: str, inserts: list[tuple[int, str]]) -> None:
    for position, piece in inserts:
        at = position % (len(text) + 1)
        text = f"{text[:at]} {piece} {text[at:]}"
    if any(d.code == "E001" for d in parse_source(text, "c.choreo").diagnostics):
        return  # a comment cut a token or a string in two
    once, twice = formatted_twice(text)
    assert twice == once
