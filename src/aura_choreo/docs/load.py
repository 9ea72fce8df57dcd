"""Loading the files a report documents: every choreography of each file, never raising on bad input."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aura_choreo.diagnostics import Diagnostic, has_errors, sort_diagnostics
from aura_choreo.protocol import Protocol, build_file

# Reading trace files is the testing package's (one reader for `doc` and `check-trace`).
from aura_choreo.testing.trace_files import TraceFileError as TraceFileError
from aura_choreo.testing.trace_files import read_trace as read_trace


@dataclass
class Loaded:
    """Protocols that checked and projected, every diagnostic, and every source text read."""

    protocols: list[Protocol] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def load_files(paths: Sequence[str], params: Mapping[str, int] | None = None) -> Loaded:
    """Parse, check and project every choreography declared in `paths` (imports serve calls only)."""
    out = Loaded()
    for path in paths:
        built = build_file(path, params=dict(params or {}))
        out.sources.update(built.sources)
        out.diagnostics.extend(built.diagnostics)
        out.protocols.extend(built.protocols)
    out.diagnostics = sort_diagnostics(out.diagnostics)
    return out
