"""Property: for generated protocols that the behaviour-driven runtime runs to the end, every role's
generated API, followed by a generic user, runs to its end against behaviour-driven peers too; and
compiling twice gives the same bytes.

Protocols nest sends, choices, counted loops, recursion with `continue`, parallel blocks, shared
`if`s, multicast and fan-in over a family, so the state enumeration (positions, loop heads, rec
heads, block callbacks) is exercised on shapes nobody wrote by hand.
"""

from __future__ import annotations

import importlib
import itertools
import random
import sys
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typestate_driver import drive

from aura_choreo import ChoreographyError, choreography
from aura_choreo.codegen import generate, snake_case, write
from aura_choreo.testing.simulation import simulate

PLAIN = ["A", "B", "C"]
_COUNTER = itertools.count()


def _pair(draw: st.DrawFn, roles: list[str]) -> tuple[str, str]:
    sender = draw(st.sampled_from(roles))
    return sender, draw(st.sampled_from([r for r in roles if r != sender]))


def _block(draw: st.DrawFn, roles: list[str], depth: int, n: list[int]) -> str:
    count = draw(st.integers(min_value=0 if depth < 2 else 1, max_value=3))
    return "\n".join(_statement(draw, roles, depth, n) for _ in range(count))


def _statement(draw: st.DrawFn, roles: list[str], depth: int, n: list[int]) -> str:
    kinds = ["send", "send"] + (["choice", "counted", "rec", "parallel", "if"] if depth > 0 else [])
    if roles == PLAIN:
        kinds += ["multicast", "fan_in"]
    kind = draw(st.sampled_from(kinds))
    n[0] += 1
    i = n[0]
    s, r = _pair(draw, roles)
    if kind == "send":
        return f"{s} -> {r}: M{i}(x{i}: u32);"
    if kind == "multicast":
        return f"{s} -> W[*]: Cast{i};"
    if kind == "fan_in":
        return f"W[i] -> {r}: Gather{i}(ok: bool);"
    inner = depth - 1
    if kind == "choice":
        left, right = _block(draw, roles, inner, n), _block(draw, roles, inner, n)
        return (
            f"choice {s} {{ left{i}: {{ {s} -> {r}: L{i}; {left} }} "
            f"right{i}: {{ {s} -> {r}: R{i}; {right} }} }}"
        )
    if kind == "counted":
        return f"loop (count: {draw(st.integers(0, 2))}) {{ {_block(draw, roles, inner, n)} }}"
    if kind == "rec":
        body = _block(draw, roles, inner, n)
        return (
            f"rec R{i} {{ {body}\nchoice {s} {{ again{i}: {{ {s} -> {r}: Again{i}\ncontinue R{i} }} "
            f"done{i}: {{ {s} -> {r}: Done{i} }} }} }}"
        )
    if kind == "parallel":
        return f"parallel {{ {_block(draw, roles, inner, n)} | {_block(draw, roles, inner, n)} }}"
    then, other = _block(draw, [s, r], inner, n), _block(draw, [s, r], inner, n)
    return f"{s} -> {r}: V{i}(v{i}: u64)\nif v{i} > 4 {{ {then} }} else {{ {other} }}"


@st.composite
def protocols(draw: st.DrawFn) -> str:
    body = _block(draw, PLAIN, 2, [0])
    return f"choreography Gen {{ roles: A, B, C, W[2]\n{body} }}"


def _driven(module: Any, role: str, seed: int) -> Any:
    base, _, index = role.partition("[")
    start = getattr(module, f"start_{snake_case(base)}")

    async def code(ep: Any) -> str:
        first = start(ep, int(index[:-1])) if index else start(ep)
        return type(await drive(first, random.Random(seed))).__name__

    return code


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(protocols(), st.integers(min_value=0, max_value=1000))
def test_every_generated_role_runs_to_its_end(tmp_path_factory: Any, text: str, seed: int) -> None:
    try:
        protocol = choreography(text)
    except ChoreographyError as exc:
        # Two parallel branches that both need the same notification are rejected (E040).
        assert {d.code for d in exc.diagnostics if d.is_error} == {"E040"}, exc.render()
        assume(False)
        raise
    # The runtime's own runner is the reference: a protocol its behaviour-driven roles cannot finish
    # (e.g. two parallel branches sending the same receiver messages it cannot tell apart) says
    # nothing about generated code.
    assume(simulate(protocol, seed=seed).ok)
    package = generate(protocol, "gen.choreo")
    assert generate(protocol, "gen.choreo") == package  # deterministic
    root = tmp_path_factory.mktemp("prop")
    name = f"prop_{next(_COUNTER)}"
    (root / name).mkdir()
    (root / name / "__init__.py").write_text("")
    write(package, str(root / name))
    sys.path.insert(0, str(root))
    try:
        for role in protocol.roles:
            module = importlib.import_module(f"{name}.gen.{snake_case(role.partition('[')[0])}")
            report = simulate(protocol, seed=seed, roles={role: _driven(module, role, seed)})
            assert report.ok, f"{role}: {report.summary()}\n{text}"
    finally:
        sys.path.remove(str(root))
        for module_name in [m for m in sys.modules if m.split(".")[0] == name]:
            del sys.modules[module_name]
