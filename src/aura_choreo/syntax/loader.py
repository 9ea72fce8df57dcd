"""Loading a `.choreo` file with everything it imports.

Imports are resolved relative to the importing file. Problems with imports are reported as
**E002** at the `import`'s span: an imported file that cannot be read, and an import cycle
(`a.choreo -> b.choreo -> a.choreo`). Files are returned imports first (dependency order).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from aura_choreo.diagnostics import Diagnostic, Span, error, has_errors, sort_diagnostics
from aura_choreo.syntax.ast import Import, SourceFile
from aura_choreo.syntax.parser import parse_source

IMPORT_ERROR = "E002"


@dataclass(frozen=True)
class LoadResult:
    """Every file of a load (imports first), their texts, and all their diagnostics."""

    files: dict[str, SourceFile] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def load_sources(path: str | os.PathLike[str], *, extra_annotation_keys: Iterable[str] = ()) -> LoadResult:
    """Read and parse `path` and, transitively, every file it imports; never raises on bad input."""
    loader = _Loader(frozenset(extra_annotation_keys))
    root = os.path.normpath(os.fspath(path))
    loader.visit(root, None, ())
    return LoadResult(loader.files, loader.sources, sort_diagnostics(loader.diagnostics))


class _Loader:
    def __init__(self, extra_keys: frozenset[str]) -> None:
        self.extra_keys = extra_keys
        self.files: dict[str, SourceFile] = {}
        self.sources: dict[str, str] = {}
        self.diagnostics: list[Diagnostic] = []

    def visit(self, path: str, via: Import | None, stack: tuple[str, ...]) -> None:
        if path in stack:
            cycle = " -> ".join((*stack[stack.index(path) :], path))
            assert via is not None
            self.diagnostics.append(
                error(IMPORT_ERROR, via.span, f"import cycle: {cycle}", "remove one of these imports")
            )
            return
        if path in self.files:
            return
        text = self._read(path, via)
        if text is None:
            return
        result = parse_source(text, path, extra_annotation_keys=self.extra_keys)
        self.sources[path] = text
        self.diagnostics.extend(result.diagnostics)
        base = os.path.dirname(path)
        for imported in result.file.imports:
            self.visit(os.path.normpath(os.path.join(base, imported.path)), imported, (*stack, path))
        self.files[path] = result.file  # after its imports: dependency order

    def _read(self, path: str, via: Import | None) -> str | None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            span = via.span if via is not None else Span.point(path, 1, 1)
            what = f"imported file `{via.path}` ({path})" if via is not None else f"`{path}`"
            self.diagnostics.append(
                error(
                    IMPORT_ERROR,
                    span,
                    f"cannot read {what}: {reason}",
                    "import paths are relative to the importing file",
                )
            )
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            self.diagnostics.append(error("E001", Span.point(path, line, 1), "the file is not valid UTF-8"))
            return data.decode("utf-8", errors="replace")
