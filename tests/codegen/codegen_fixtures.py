"""What the codegen tests share: every seed and example compiled once, mypy run once.

(No conftest.py here: a second module named `conftest` would shadow tests/conftest.py for the test
modules that import from it.)

Each source file is compiled into its own parent package (`gen/<file>/...`) so that protocols with
the same qualified name in different files stay distinct modules; the typing-test programs sit in
`typing/` next to the packages they import. One `mypy --strict` run checks all of it.
"""

from __future__ import annotations

import importlib
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aura_choreo import ChoreographyError
from aura_choreo.codegen import write
from aura_choreo.codegen.build import compile_file
from conftest import SEED_CORPUS

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.choreo"))
POLL = HERE / "poll.choreo"
TPC = ROOT / "examples" / "two_phase_commit.choreo"
PROGRAMS = HERE / "programs"


LITERATURE = SEED_CORPUS.parent / "literature"


def seed_files() -> list[Path]:
    return sorted(SEED_CORPUS.glob("*.choreo"))


def literature_files() -> list[Path]:
    """Protocols from the literature (hand-written by others): compiled and type-checked too."""
    return sorted(LITERATURE.glob("*.choreo"))


@dataclass(frozen=True)
class Generated:
    """Where everything was generated, which sources compiled, and mypy's verdict."""

    gen: Path
    typing: Path
    compiled: dict[str, list[str]]
    """Source file name -> packages generated from it (directory names under its parent package)."""
    not_projectable: dict[str, str]
    """Source file name -> why it does not load (only seeds that call undefined sub-protocols)."""
    mypy_report: str
    mypy_status: int


def package_name(path: Path) -> str:
    return "src_" + re.sub(r"\W", "_", path.stem).lower()


def _compile_all(gen: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    compiled: dict[str, list[str]] = {}
    not_projectable: dict[str, str] = {}
    for path in [*seed_files(), *EXAMPLES, POLL, *literature_files()]:
        out = gen / package_name(path)
        try:
            result = compile_file(str(path))
        except ChoreographyError as exc:
            not_projectable[path.name] = "; ".join(f"{d.code}: {d.message}" for d in exc.diagnostics)
            continue
        out.mkdir(parents=True)
        (out / "__init__.py").write_text('"""Packages compiled from one file."""\n', encoding="utf-8")
        for package in result.packages:
            write(package, str(out))
        compiled[path.name] = [p.directory for p in result.packages]
    return compiled, not_projectable


_GENERATED: list[Generated] = []


def generate_everything(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """Once per test process (each test module's session fixture asks; the first one does the work)."""
    if not _GENERATED:
        _GENERATED.append(_generate(tmp_path_factory))
    return _GENERATED[0]


def _generate(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    from mypy import api

    base = tmp_path_factory.mktemp("codegen")
    gen = base / "gen"
    compiled, not_projectable = _compile_all(gen)
    typing = base / "typing"
    typing.mkdir()
    for path, name in ((TPC, "two_phase_commit"), (POLL, "poll")):
        for package in compile_file(str(path)).packages:
            write(package, str(typing))
        assert (typing / name).is_dir()
    for program in PROGRAMS.glob("*.py"):
        shutil.copy(program, typing / program.name)
    config = base / "mypy.ini"
    config.write_text("[mypy]\n", encoding="utf-8")
    limit = sys.getrecursionlimit()  # mypy raises it for the whole process; other tests rely on it
    try:
        stdout, stderr, status = api.run(
            [
                "--strict",
                "--config-file",
                str(config),
                "--cache-dir",
                str(base / "mypy_cache"),  # fresh: a shared cache replays errors under old paths
                "--no-error-summary",
                "--show-error-codes",
                str(gen),
                str(typing),
            ]
        )
    finally:
        sys.setrecursionlimit(limit)
    return Generated(gen, typing, compiled, not_projectable, stdout + stderr, status)


def importable(generated: Generated) -> Iterator[Path]:
    """The typing directory on `sys.path` (its generated packages and programs importable)."""
    sys.path.insert(0, str(generated.typing))
    try:
        yield generated.typing
    finally:
        sys.path.remove(str(generated.typing))
        for name in list(sys.modules):
            if name.split(".")[0] in {"two_phase_commit", "poll"} or name.startswith(("tpc_", "poll_")):
                del sys.modules[name]
        importlib.invalidate_caches()
