"""Property: for generated well-formed protocols, the projections run together reach `end` cleanly.

Protocols are generated as DSL text (sends, choices, counted, decided and open loops with `break`,
recursion whose branches a role tells apart only after unfolding `continue`, parallel blocks,
shared-knowledge `if`, multicast and fan-in over a family), so the whole pipeline
(parse, check, knowledge of choice, projection) is under test. Each runs through the roles' monitors
(`aura_choreo.testing.walk`, the one interpreter of local types) under several schedules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from aura_choreo import ChoreographyError, Protocol, choreography
from aura_choreo.testing.walk import walk

PLAIN = ["A", "B", "C"]
FAMILY = ["W[0]", "W[1]"]
ALL = PLAIN + FAMILY


@dataclass
class _Names:
    n: int = 0
    log: list[str] = field(default_factory=list)

    def next(self) -> int:
        self.n += 1
        return self.n


def _pair(draw: st.DrawFn, roles: list[str]) -> tuple[str, str]:
    sender = draw(st.sampled_from(roles))
    receiver = draw(st.sampled_from([r for r in roles if r != sender]))
    return sender, receiver


def _block(draw: st.DrawFn, roles: list[str], depth: int, names: _Names, size: int = 3) -> str:
    count = draw(st.integers(min_value=0 if depth < 3 else 1, max_value=size))
    return "\n".join(_statement(draw, roles, depth, names) for _ in range(count))


def _statement(draw: st.DrawFn, roles: list[str], depth: int, names: _Names) -> str:
    kinds = ["send", "send"]
    if depth > 0:
        kinds += ["choice", "counted", "decided", "open", "parallel", "shared_if", "shared_match", "rec"]
        kinds += ["rec_unfold", "rec_leave"]
    if roles == ALL:
        kinds += ["call"]
    if roles == ALL:
        kinds += ["multicast", "fan_in"]
    kind = draw(st.sampled_from(kinds))
    n = names.next()
    inner = depth - 1
    if kind == "send":
        s, r = _pair(draw, roles)
        return f"{s} -> {r}: M{n};"
    if kind == "multicast":
        s = draw(st.sampled_from(PLAIN))
        return f"{s} -> W[*]: Cast{n};"
    if kind == "fan_in":
        r = draw(st.sampled_from(PLAIN))
        return f"W[i] -> {r}: Gather{n};"
    if kind == "choice":
        d = draw(st.sampled_from(roles))
        left, right = _block(draw, roles, inner, names), _block(draw, roles, inner, names)
        return f"choice {d} {{ left{n}: {{ {left} }} right{n}: {{ {right} }} }}"
    if kind == "counted":
        k = draw(st.integers(min_value=0, max_value=2))
        return f"loop (count: {k}) {{ {_block(draw, roles, inner, names)} }}"
    if kind == "decided":
        d = draw(st.sampled_from(roles))
        return f"loop (decides: {d}) {{ {_block(draw, roles, inner, names)} }}"
    if kind == "open":
        s, r = _pair(draw, roles)
        body = _block(draw, roles, inner, names)
        return (
            f"loop {{ {body}\nchoice {s} {{ stop{n}: {{ {s} -> {r}: Stop{n}; break; }} "
            f"more{n}: {{ {s} -> {r}: More{n}; }} }} }}"
        )
    if kind == "parallel":
        left, right = _block(draw, roles, inner, names), _block(draw, roles, inner, names)
        return f"parallel {{ {left} | {right} }}"
    if kind == "rec":
        d, r = _pair(draw, roles)
        body = _block(draw, roles, inner, names)
        return (
            f"rec R{n} {{ {body}\nchoice {d} {{ again{n}: {{ {d} -> {r}: Again{n}\ncontinue R{n} }} "
            f"done{n}: {{ {d} -> {r}: Done{n} }} }} }}"
        )
    if kind == "rec_unfold":
        # `r` tells `again` from `other` only by what the next iteration sends first (issue 11 item 8).
        d, r = _pair(draw, roles)
        body = _block(draw, roles, inner, names)
        return (
            f"rec R{n} {{ {d} -> {r}: Head{n}\n{body}\nchoice {d} {{ again{n}: {{ continue R{n} }} "
            f"other{n}: {{ {d} -> {r}: Other{n}\ncontinue R{n} }} done{n}: {{ {d} -> {r}: Done{n} }} }} }}"
        )
    if kind == "rec_leave":
        # `r` tells `stop` from `again` only by what follows the rec (issue 11 item 8).
        d, r = _pair(draw, roles)
        body = _block(draw, roles, inner, names)
        return (
            f"rec R{n} {{ {d} -> {r}: Head{n}\n{body}\nchoice {d} {{ again{n}: {{ continue R{n} }} "
            f"stop{n}: {{ }} }} }}\n{d} -> {r}: After{n};"
        )
    if kind == "call":
        x, y = _pair(draw, PLAIN)
        return f"call Ping({x}, {y})"
    x, y = _pair(draw, roles)
    then, other = _block(draw, [x, y], inner, names), _block(draw, [x, y], inner, names)
    if kind == "shared_match":
        return (
            f"{x} -> {y}: Verdict{n}(verdict{n}: Verdict)\n"
            f"match verdict{n} {{ Verdict::Yes => {{ {then} }}, Verdict::No => {{ {other} }} }}"
        )
    return f"{x} -> {y}: Value{n}(v{n}: u64)\nif v{n} > 1 {{ {then} }} else {{ {other} }}"


@st.composite
def protocols(draw: st.DrawFn) -> str:
    names = _Names()
    body = _block(draw, ALL, 3, names, size=4)
    sub = "protocol Ping(P, Q) {\n P -> Q: Ping\n Q -> P: Pong\n}"
    return f"choreography Generated {{ roles: A, B, C, W[K]\n{sub}\n{body} }}"


def _well_formed(text: str, family_size: int = 2) -> Protocol:
    """The protocol; only E040 (two parallel branches notified with the same label) may reject one."""
    try:
        return choreography(text, params={"K": family_size})
    except ChoreographyError as exc:
        assert {d.code for d in exc.diagnostics if d.is_error} == {"E040"}, exc.render()
        assume(False)
        raise


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(protocols(), st.integers(min_value=2, max_value=3))
def test_generated_protocols_run_to_the_end(text: str, family_size: int) -> None:
    protocol = _well_formed(text, family_size)
    types = protocol.local_types()
    for seed in range(4):
        result = walk(types, seed)
        assert result.ok, f"{result.problem}\n{text}\ntrace: {result.events[-12:]}"


@pytest.mark.slow
@pytest.mark.timeout(1800)
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(protocols(), st.integers(min_value=2, max_value=4))
def test_generated_protocols_run_to_the_end_soak(text: str, family_size: int) -> None:
    protocol = _well_formed(text, family_size)
    for seed in range(8):
        result = walk(protocol.local_types(), seed)
        assert result.ok, f"{result.problem}\n{text}"
