"""Loading a `.choreo` file with everything it imports.

Imports are resolved relative to the importing file. Problems with imports are reported as
**E002** at the `import`'s span: an imported file that cannot be read, and an import cycle
(`a.choreo -> b.choreo -> a.choreo`). Files are returned imports first (dependency order).

Only regular files are read (a device, a named pipe or a directory is an E002, so `import "/dev/zero"`
neither reads forever nor blocks), and at most `MAX_SOURCE_BYTES` of them. Imports are followed with
an explicit stack, so a long import chain costs no Python recursion.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from aura_choreo.diagnostics import Diagnostic, Span, error, has_errors, sort_diagnostics
from aura_choreo.syntax.ast import Import, SourceFile
from aura_choreo.syntax.parser import parse_source

IMPORT_ERROR = "E002"
MAX_SOURCE_BYTES = 16 * 1024 * 1024
"""The largest `.choreo` file read."""
_REPLACED = "unexpected character `\ufffd`"


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

    def visit(self, root: str, via: Import | None, stack: tuple[str, ...]) -> None:
        """Load `root` and its imports depth-first (an explicit stack: import chains may be long)."""
        # Each frame: a file being loaded, its parsed imports still to visit.
        frames: list[tuple[str, SourceFile, Iterator[Import]]] = []
        on_stack: set[str] = set(stack)
        path_stack: list[str] = list(stack)
        pending: tuple[str, Import | None] | None = (root, via)
        while True:
            if pending is not None:
                path, imported_by = pending
                pending = None
                parsed = self._enter(path, imported_by, path_stack, on_stack)
                if parsed is not None:
                    frames.append((path, parsed, iter(parsed.imports)))
                    on_stack.add(path)
                    path_stack.append(path)
            if not frames:
                return
            path, parsed, imports = frames[-1]
            imported = next(imports, None)
            if imported is None:
                frames.pop()
                on_stack.discard(path)
                path_stack.pop()
                self.files[path] = parsed  # after its imports: dependency order
                continue
            base = os.path.dirname(path)
            pending = (os.path.normpath(os.path.join(base, imported.path)), imported)

    def _enter(
        self, path: str, via: Import | None, stack: list[str], on_stack: set[str]
    ) -> SourceFile | None:
        """Read and parse one file; None if it is not to be visited (cycle, seen, unreadable)."""
        if path in on_stack:
            cycle = " -> ".join((*stack[stack.index(path) :], path))
            assert via is not None
            self.diagnostics.append(
                error(IMPORT_ERROR, via.span, f"import cycle: {cycle}", "remove one of these imports")
            )
            return None
        if path in self.files:
            return None
        text, problem = read_source(path, via)
        if problem is not None:
            self.diagnostics.append(problem)
        if text is None:
            return None
        result = parse_source(text, path, extra_annotation_keys=self.extra_keys)
        self.sources[path] = text
        # Past invalid UTF-8 (reported once above) the rest still parses; each U+FFFD that stands
        # for a bad byte would only repeat that error.
        self.diagnostics.extend(d for d in result.diagnostics if problem is None or d.message != _REPLACED)
        return result.file


class _Unsuitable(OSError):
    """A file that exists but is not one to read as source (a device, a pipe, a directory, too large)."""

    def __init__(self, reason: str, hint: str) -> None:
        super().__init__(0, reason)
        self.hint = hint


def _read_regular(path: str) -> bytes:
    """The bytes of a regular file of at most `MAX_SOURCE_BYTES`; OSError for anything else.

    Opened non-blocking, so a named pipe with no writer does not block the open, and checked with
    `fstat` on the open descriptor (no race with a file swapped in between).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Unsuitable(
                "not a regular file", "import a `.choreo` text file, not a device, pipe or directory"
            )
        limit = MAX_SOURCE_BYTES
        if info.st_size > limit:
            raise _Unsuitable(
                f"{info.st_size} bytes, over the {limit}-byte limit", "split it into several files"
            )
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(limit + 1)
        if len(data) > limit:  # it grew since fstat
            raise _Unsuitable(f"over the {limit}-byte limit", "split it into several files")
        return data
    finally:
        os.close(fd)


def read_source(path: str, via: Import | None = None) -> tuple[str | None, Diagnostic | None]:
    """The UTF-8 text of a `.choreo` file, or why it cannot be read (E002) or is not text (E001).

    `via` is the import that asked for the file, if any (the error points at it). A file that is not
    valid UTF-8 comes back repaired (U+FFFD) with its error: checking may go on, but `fmt` must not
    write it back over the user's bytes. A binary file (NUL bytes) gets no text, so no garbage
    reaches the terminal.
    """
    try:
        data = _read_regular(path)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if via is None:
            hint = exc.hint if isinstance(exc, _Unsuitable) else ""
            return None, error(IMPORT_ERROR, Span.point(path, 1, 1), f"cannot read `{path}`: {reason}", hint)
        return None, error(
            IMPORT_ERROR,
            via.span,
            f"cannot read imported file `{via.path}` ({path}): {reason}",
            exc.hint if isinstance(exc, _Unsuitable) else "import paths are relative to the importing file",
        )
    if b"\0" in data:
        return None, error(
            "E001",
            Span.point(path, 1, 1),
            f"`{path}` is not a text file (it contains NUL bytes)",
            "choreographies are UTF-8 text files, usually named `*.choreo`",
        )
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data[: exc.start].count(b"\n") + 1
        column = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        bad = " ".join(f"0x{byte:02x}" for byte in data[exc.start : exc.end])
        return data.decode("utf-8", errors="replace"), error(
            "E001",
            Span.point(path, line, column),
            f"the file is not valid UTF-8 (byte {bad})",
            "save the file as UTF-8",
        )
