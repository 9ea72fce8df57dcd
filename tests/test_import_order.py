"""Imports follow the pipeline of DESIGN.md: a module imports its own stage and earlier ones, never a
later one, and no two modules import each other (directly or around a cycle).

Every import counts, wherever it is written: at the top, inside a function (a "lazy" import), under
`if TYPE_CHECKING:`, and a module named in a string (`importlib.import_module("aura_choreo.x")`, the
lazy export tables of package `__init__`s). A lazy import hides a cycle from Python, not from a reader.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "aura_choreo"

# The stage order of DESIGN.md, earliest first. A module may import from its own stage and the stages
# before it. Packages on one line share a stage. Where DESIGN.md draws transports/, guards/ and
# journal/ beside runtime/, the code needs an order among them: the runtime talks to the `Transport`
# interface (so transports/ comes first), and guards/ is an extension of the runtime that writes
# journal facts. `protocol_value.py` is the user-facing `Protocol`, whose `session()` starts a runtime
# session, and `protocol.py` the ways to load one; `pipeline.py` is the validate pipeline (every
# check, budgets against a run-time policy).
STAGES: tuple[tuple[str, ...], ...] = (
    ("diagnostics", "errors", "version"),
    ("syntax",),
    ("semantics",),
    ("projection",),
    ("verify",),
    ("transports", "journal", "effects"),
    ("runtime",),
    ("guards",),
    ("protocol_value", "protocol"),
    ("pipeline",),
    # consumers of the stages above, never imported by them
    (
        "codegen",
        "docs",
        "orchestration",
        "resilience",
        "testing",
        "deployment",
        "profile",
        "testgen",
        "execution",
    ),
    ("cli",),
    ("__init__", "__main__"),
)
RANK = {name: rank for rank, names in enumerate(STAGES) for name in names}

# Cycles known and being removed by their owners (issue #18). Delete an entry when its cycle is gone;
# the test fails on a listed cycle that no longer exists, so the list cannot go stale.
KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int

    @property
    def where(self) -> str:
        return f"src/{self.importer.replace('.', '/')}.py:{self.line}"


def _module_names() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _module_names()


def _resolve(name: str) -> str | None:
    """The module an import of `name` runs: `a.b.C` (a class) is `a.b`; unknown names are None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str) -> Iterator[Import]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return _scan(path.read_text(encoding="utf-8"), module, package)


def _scan(source: str, module: str, package: str) -> Iterator[Import]:
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in MODULES:
            names = [node.value]
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                yield Import(module, target, getattr(node, "lineno", 0))


IMPORTS = [imp for module in sorted(MODULES) for imp in _imports(module)]


def _stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def test_every_module_belongs_to_a_stage() -> None:
    unplaced = sorted({_stage(m) for m in MODULES} - set(RANK))
    assert not unplaced, f"add these packages/modules to STAGES (in DESIGN.md's order): {unplaced}"


def test_imports_go_down_the_pipeline_only() -> None:
    backwards = [
        f"{imp.where}: {imp.importer} imports {imp.imported} "
        f"(stage `{_stage(imp.imported)}` comes after `{_stage(imp.importer)}`)"
        for imp in IMPORTS
        if RANK.get(_stage(imp.imported), 0) > RANK.get(_stage(imp.importer), 0)
    ]
    assert not backwards, "imports against the stage order of DESIGN.md:\n" + "\n".join(backwards)


def _cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_cycle_finder_finds_a_cycle_through_three_modules() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert _cycles(edges) == [frozenset({"a", "b", "c"})]


def test_no_cycles_between_modules() -> None:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in IMPORTS:
        edges[imp.importer].add(imp.imported)
    cycles = _cycles(edges)
    unexpected = [sorted(c) for c in cycles if c not in KNOWN_CYCLES]
    assert not unexpected, "modules that import each other (lazily or not):\n" + "\n".join(
        ", ".join(c) for c in unexpected
    )
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in cycles]
    assert not gone, f"these cycles are gone: remove them from KNOWN_CYCLES: {gone}"


def test_the_scan_sees_lazy_type_checking_relative_and_string_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import aura_choreo.cli.main\n"
        "def f():\n"
        "    from aura_choreo.testing.simulation import simulate\n"
        "    from . import export\n"
        "    return importlib.import_module('aura_choreo.runtime.monitor')\n"
    )
    found = {(imp.imported, imp.line) for imp in _scan(source, "aura_choreo.verify.x", "aura_choreo.verify")}
    assert found == {
        ("aura_choreo.cli.main", 3),
        ("aura_choreo.testing.simulation", 5),
        ("aura_choreo.verify.export", 6),
        ("aura_choreo.runtime.monitor", 7),
    }
