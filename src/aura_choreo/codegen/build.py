"""`compile` as a library: a file -> its packages on disk, and the staleness check for CI.

`compile_file` loads every choreography of a file (unbound family sizes and integer parameters are
bound to 3 unless given, as for `validate`), generates and writes each package. `check_dir` finds
the packages under a directory by their header, regenerates each from the source file and parameters
the header names, and reports the files that differ.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from aura_choreo.codegen.package import MARKER, Package, generate, stale_files, write
from aura_choreo.codegen.states import CodegenError
from aura_choreo.protocol import load_all


@dataclass
class Compiled:
    """What `compile_file` generated."""

    packages: list[Package] = field(default_factory=list)
    parameters: set[str] = field(default_factory=set)
    """Every family size and parameter the file's choreographies have (bound or not)."""


def compile_file(
    path: str, params: Mapping[str, int] | None = None, *, source: str | None = None
) -> Compiled:
    """Generate the package of every choreography in `path` (raises `ChoreographyError` when it does not
    check, `CodegenError` when a role cannot be typed). `source` is how the header names the file
    (default: `path` as given)."""
    protocols = load_all(path, params=dict(params or {}))
    name = (source or path).replace(os.sep, "/")
    known = {key for protocol in protocols.values() for key in protocol.params}
    packages = [generate(protocol, name) for protocol in protocols.values()]
    _refuse_shared_files(packages)
    _refuse_shadowing(packages)
    return Compiled(packages, known)


_IMPORTED = frozenset({__name__.partition(".")[0], "msgspec"})
"""What generated code imports besides the standard library: this package (named through `__name__`, so
the import-order test does not read the name as an import of the package root) and msgspec."""


def _refuse_shadowing(packages: list[Package]) -> None:
    """Raise `CodegenError` when a package's top-level directory has the name of a module the generated
    code (or Python itself) imports: a choreography `Typing`, `Queue` or `Msgspec` would write
    `typing/`, `queue/`, `msgspec/`, which hides that module from every import below the output
    directory, and mypy refuses to check it at all ("shadows library module"). Not renamed, like two
    packages that share files (see `codegen.names`); a `#[namespace]` puts it below a parent package."""
    for package in packages:
        top = package.directory.split("/", 1)[0]
        if top in sys.stdlib_module_names or top in _IMPORTED:
            raise CodegenError(
                f"choreography `{package.protocol}` would be the top-level package `{top}`, which hides"
                f" the module `{top}` that Python code imports: rename it, or give it a `#[namespace]`"
            )


def _refuse_shared_files(packages: list[Package]) -> None:
    """Raise `CodegenError` when two packages would write one file with different text (`FooBar` and
    `Foo_Bar` both become `foo_bar/`; a choreography `K` and the namespace `k` of another both own
    `k/__init__.py`): on disk the later would silently replace the earlier. The `__init__.py` of a
    namespace two choreographies share is the same text, written twice harmlessly. Not renamed: see
    `codegen.names`."""
    owner: dict[str, Package] = {}
    for package in packages:
        for path in sorted(package.files):
            first = owner.setdefault(path, package)
            if first.files[path] != package.files[path]:
                raise CodegenError(
                    f"choreographies `{first.protocol}` and `{package.protocol}` would both write"
                    f" `{path}`: rename one of them, or give one a different `#[namespace]`"
                )


def write_all(compiled: Compiled, out_dir: str) -> list[str]:
    """Write every package of `compiled` under `out_dir`."""
    written: list[str] = []
    for package in compiled.packages:
        written += write(package, out_dir)
    return written


def stale(compiled: Compiled, out_dir: str) -> list[str]:
    """Files under `out_dir` that differ from what `compiled` would write."""
    return [f for package in compiled.packages for f in stale_files(package, out_dir)]


_HEADER = re.compile(r'^"""' + re.escape(MARKER) + r": do not edit\.\n\nsource:\n(?P<source>.+)$", re.M)
_PARAMS = re.compile(r"^params: (?P<params>.*)$", re.M)


@dataclass(frozen=True)
class Origin:
    """Where a generated package came from, as its header says."""

    source: str
    params: tuple[tuple[str, int], ...]


def find_origins(out_dir: str) -> list[Origin]:
    """The (source, params) of every generated package under `out_dir`, each once, sorted."""
    found: set[Origin] = set()
    for root, _dirs, files in os.walk(out_dir):
        if "messages.py" not in files or "__init__.py" not in files:
            continue
        with open(os.path.join(root, "__init__.py"), encoding="utf-8") as handle:
            text = handle.read(4096)
        header = _HEADER.search(text)
        params = _PARAMS.search(text)
        if header is None or params is None:
            continue
        bound: list[tuple[str, int]] = []
        for item in params.group("params").split(", "):
            key, sep, value = item.partition("=")
            if sep and value.isdigit():
                bound.append((key, int(value)))
        found.add(Origin(header.group("source"), tuple(bound)))
    return sorted(found, key=lambda o: (o.source, o.params))


def resolve_source(source: str, out_dir: str) -> str:
    """The source file a header names: as written (relative to the working directory), else relative
    to the output directory."""
    if os.path.isabs(source) or os.path.exists(source):
        return source
    candidate = os.path.join(out_dir, source)
    return candidate if os.path.exists(candidate) else source
