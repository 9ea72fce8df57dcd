"""Writing the suite: `behaviours.py` (the user's, written once) and one `test_<protocol>.py` each.

The test files are regenerated on every run and hold no logic of their own: each test is one call
into `aura_choreo.testgen.harness` with its plan as a literal, so a failure reads as the harness's
message (naming the branch, message or guard). `behaviours.py` starts with one class per role family
whose methods return example payloads synthesised from the declared types; it is never overwritten.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from pprint import pformat

from aura_choreo.projection.local_types import LocalSeq, Send, iter_steps
from aura_choreo.projection.render_text import render_text
from aura_choreo.protocol import Protocol
from aura_choreo.runtime.behaviour import DefaultBehaviour, ProtocolHints
from aura_choreo.testgen.plan import Plan, family, plan_protocol

BEHAVIOURS = "behaviours.py"


@dataclass(frozen=True)
class Written:
    """What `write_suite` did: files written, and whether an existing `behaviours.py` was kept."""

    files: tuple[str, ...]
    kept_behaviours: bool
    tests: int


def _ident(text: str) -> str:
    out = re.sub(r"\W+", "_", text).strip("_")
    return out if out and not out[0].isdigit() else f"p_{out}"


def _snake(text: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", _ident(text)).lower()


def _class_name(protocol: Protocol, role_family: str, taken: set[str]) -> str:
    """`<Protocol><Role>`, made unique in the file: `x.P` and `y.P` (one name, two namespaces), or
    protocol `Foo` role `BarA` and protocol `FooBar` role `A`, would otherwise define one class twice
    and both protocols' behaviours would be the later one's."""
    base = name = f"{_ident(protocol.name)}{_ident(role_family)}"
    n = 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _example(protocol: Protocol, role_family: str, label: str) -> str:
    """Source of an example payload: fixed values, except that values the protocol decides on (a
    boolean, a field a `match` reads, or a record whose attributes a condition reads) are drawn from
    `self.coin`, so that a loop that ends on them ends (with probability 1) instead of running forever."""
    hints = ProtocolHints.from_local_types(protocol.local_types().values())
    synth = DefaultBehaviour(seed=sum(map(ord, label)), hints=hints)
    payload = next(
        (
            m.payload
            for role, lt in protocol.local_types().items()
            if family(role) == role_family
            for m in _sends(lt.steps)
            if m.label == label
        ),
        (),
    )
    if not payload:
        return "None"
    values = synth.payload(payload, {})
    items = []
    for (key, value), item in zip(values.items(), payload, strict=True):
        reads = hints.fields.get(item.name or "", frozenset())
        arms = hints.patterns.get(item.name or "", ())
        if len(arms) > 1:
            # A field a `match` reads: any of its arms, so that a loop one arm continues (recursive_dns's
            # `Cname => continue Chase`) ends; a fixed value could be the arm that loops for ever.
            one = [ProtocolHints(patterns={item.name or "": (arm,)}) for arm in arms]
            options = [DefaultBehaviour(seed=0, hints=h).synthesise(item.type, item.name) for h in one]
            items.append(f"{key!r}: self.coin.choice({options!r})")
        elif reads:
            record = ", ".join(f"{attr!r}: self.coin.random() < 0.5" for attr in sorted(reads))
            items.append(f"{key!r}: {{{record}}}")
        elif isinstance(value, bool):
            items.append(f"{key!r}: self.coin.random() < 0.5")
        else:
            items.append(f"{key!r}: {value!r}")
    return "{" + ", ".join(items) + "}"


def _sends(steps: LocalSeq) -> list[Send]:
    return [s for s in iter_steps(steps) if isinstance(s, Send)]


def behaviours_source(protocols: Sequence[Protocol], plans: Sequence[Plan]) -> str:
    lines = [
        '"""Behaviours for the generated tests: edit freely; `aura-choreo test-gen` never overwrites this.',
        "",
        "One class per role (a family's instances share theirs). A method named after a message label",
        "returns its payload (a dict of fields, or None when it has none); `choose_<choice>(self, env)` may",
        "decide a choice and `value_<name>(self, env)` supply a value; `env` holds what the role knows.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import random",
        "from typing import Any",
        "",
    ]
    registry: list[str] = []
    taken: set[str] = set()
    for protocol, plan in zip(protocols, plans, strict=True):
        entries = []
        for role_family in dict.fromkeys(family(r) for r in protocol.roles):
            name = _class_name(protocol, role_family, taken)
            entries.append(f"        {role_family!r}: {name},")
            lines += [
                "",
                f"class {name}:",
                f'    """`{role_family}` in `{protocol.qualified_name}`."""',
                "",
                "    def __init__(self) -> None:",
                "        self.coin = random.Random(0)  # one per run: the same values every run",
                "",
            ]
            sends = plan.sends.get(role_family, {})
            for label, fields in sends.items():
                shown = ", ".join(f"{n}: {t}" if n and t else n or t for n, t in fields)
                lines += [
                    f"    def {label}(self, env: dict[str, Any]) -> Any:",
                    f'        """Payload of `{label}({shown})`."""',
                    f"        return {_example(protocol, role_family, label)}",
                    "",
                ]
        registry.append(f"    {protocol.qualified_name!r}: {{\n" + "\n".join(entries) + "\n    },")
    lines += ["", "BEHAVIOURS: dict[str, dict[str, type]] = {", *registry, "}", ""]
    return "\n".join(line.rstrip() for line in lines)


def _literal(value: object) -> str:
    """A Python literal of plain data, continuation lines indented for a call argument."""
    return pformat(value, width=100, sort_dicts=False).replace("\n", "\n    ")


def _test_name(*parts: object) -> str:
    return "test_" + "_".join(_snake(str(p)) for p in parts if str(p))


def tests_source(protocol: Protocol, plan: Plan, source_path: str) -> tuple[str, int]:
    sends = {k: list(v) for k, v in plan.sends.items()}
    origin = os.path.basename(source_path)
    head = f'''"""Generated by `aura-choreo test-gen` from {origin}: regenerated on every run.

Edit `behaviours.py` (kept between runs), not this file. Each test names what it checks.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aura_choreo.testgen.harness import Harness, load_behaviours
from aura_choreo.testing import SimulationConfig
from aura_choreo.testing.strategies import network_models

SOURCE = Path({source_path!r})
behaviours = load_behaviours(Path(__file__).with_name("behaviours.py"))
H = Harness.load(
    str(SOURCE),
    {protocol.qualified_name!r},
    {dict(protocol.params)!r},
    behaviours.BEHAVIOURS[{protocol.qualified_name!r}],
    {_literal(sends)},
)
'''
    tests: list[str] = []
    used: set[str] = set()

    def add(name: str, body: str, decorators: str = "") -> None:
        unique, n = name, 2
        while unique in used:
            unique, n = f"{name}_{n}", n + 1
        used.add(unique)
        tests.append(f"\n\n{decorators}def {unique}() -> None:\n{body}")

    for role in protocol.roles:
        pinned = pformat(render_text(protocol.local_type(role)), width=92).replace("\n", "\n" + " " * 18)
        add(
            _test_name("happy_path", role),
            f"    H.happy_path(\n        {role!r},\n        local_type={pinned},\n    )\n",
        )
    for spec in plan.branches:
        add(_test_name("branch", spec["choice"], spec["label"]), f"    H.branch({_literal(spec)})\n")
    for spec in plan.unforceable:
        reason = f"branch `{spec['label']}` of {spec['construct']} `{spec['choice']}`: {spec['why']}"
        add(
            _test_name("branch", spec["choice"], spec["label"]),
            f"    # Not forced: {reason}; it is exercised by the happy path and fault runs when taken.\n"
            "    H.happy_path(H.protocol.roles[0], seed=1)\n",
        )
    if plan.guards:
        add("test_guard_chain_allows_every_send_with_the_manifests_granted", "    H.guard_allows()\n")
    for spec in plan.guards:
        what = spec.get("capability") or f"{spec['kind']}_budget"
        add(_test_name("guard_denies", spec["role"], what), f"    H.guard_denial({_literal(spec)})\n")
    for spec in plan.timeouts:
        add(_test_name("timeout_branch", spec["label"]), f"    H.timeout({_literal(spec)})\n")
    for spec in plan.sagas:
        add(_test_name("saga_compensates_when", spec["label"], "fails"), f"    H.saga({_literal(spec)})\n")
    faults = (
        "\n\n@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])\n"
        "@given(network=network_models(max_drop=0.2, max_duplicate=0.2), seed=st.integers(0, 1000))\n"
        "def test_faulty_network_drop_duplicate_reorder_delay_is_masked(\n"
        "    network: object, seed: int\n"
        ") -> None:\n"
        "    H.faults(seed, SimulationConfig(network=network))  # type: ignore[arg-type]\n"
    )
    return head + "".join(tests) + faults, len(tests) + 1


def write_suite(
    protocols: Sequence[Protocol], sources: Sequence[str], out: str | os.PathLike[str]
) -> Written:
    """Write the suite for `protocols` (each loaded from the matching path of `sources`) into `out`."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    plans = [plan_protocol(p) for p in protocols]
    written: list[str] = []
    behaviours = folder / BEHAVIOURS
    kept = behaviours.exists()
    if not kept:
        behaviours.write_text(behaviours_source(protocols, plans), encoding="utf-8")
        written.append(str(behaviours))
    count = 0
    names: set[str] = set()
    for protocol, plan, source in zip(protocols, plans, sources, strict=True):
        text, n = tests_source(protocol, plan, os.path.abspath(source))
        # `FooBar` and `Foo_Bar` (or `a.B` and `a_B`) have one snake_case name: the later protocol's
        # file would replace the earlier's, whose tests were then counted but never run.
        stem = base = f"test_{_snake(protocol.qualified_name)}"
        k = 2
        while stem in names:
            stem, k = f"{base}_{k}", k + 1
        names.add(stem)
        path = folder / f"{stem}.py"
        path.write_text(text, encoding="utf-8")
        written.append(str(path))
        count += n
    return Written(tuple(written), kept, count)
