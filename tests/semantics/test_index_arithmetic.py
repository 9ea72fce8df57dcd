"""Role index arithmetic and parameter quorum sizes (issue 11 item 19, SPEC §1.3, §1.5)."""

from __future__ import annotations

import pytest

from aura_choreo.errors import ChoreographyError
from aura_choreo.protocol import choreography


def _messages(text: str, **params: int) -> list[tuple[str, str, str]]:
    protocol = choreography(text, params=params)
    found = []
    for role, local in protocol.local_types().items():
        for step in local.steps:
            to = getattr(step, "to", None)
            if to is not None:
                found.append((role, to, step.label))  # type: ignore[attr-defined]
    return sorted(found)


def test_a_ring_with_i_plus_one() -> None:
    text = """protocol Ring { roles: P[4];
      for i in 0..3 { P[i] -> P[i+1]: Token; } }"""
    assert _messages(text) == [
        ("P[0]", "P[1]", "Token"),
        ("P[1]", "P[2]", "Token"),
        ("P[2]", "P[3]", "Token"),
    ]


def test_a_closed_ring_with_modulo_over_a_parameter() -> None:
    text = """protocol Ring { roles: R[N];
      for i in 0..N { R[i] -> R[(i + 1) % N]: Token; } }"""
    assert _messages(text, N=3) == [
        ("R[0]", "R[1]", "Token"),
        ("R[1]", "R[2]", "Token"),
        ("R[2]", "R[0]", "Token"),
    ]


def test_i_minus_one() -> None:
    text = """protocol Back { roles: P[3];
      for i in 1..3 { P[i] -> P[i - 1]: Ack; } }"""
    assert _messages(text) == [("P[1]", "P[0]", "Ack"), ("P[2]", "P[1]", "Ack")]


def test_an_index_out_of_range_for_some_binding_is_e013_naming_the_binding() -> None:
    text = """protocol Ring { roles: P[3];
      for i in 0..3 { P[i] -> P[i+1]: Token; } }"""
    with pytest.raises(ChoreographyError) as caught:
        choreography(text)
    messages = [d.message for d in caught.value.diagnostics if d.code == "E013"]
    assert messages and "i = 2" in messages[0] and "P" in messages[0], messages


def test_min_responses_may_be_a_protocol_parameter() -> None:
    text = """protocol Threshold { roles: C, S[5];
      C -> S[*]: Req; [@min_responses = threshold] S[*] -> C: Share; }"""
    protocol = choreography(text, params={"threshold": 3})
    (quorum,) = [s for s in protocol.local_types()["C"].steps if type(s).__name__ == "Quorum"]
    assert quorum.min == 3  # type: ignore[attr-defined]
