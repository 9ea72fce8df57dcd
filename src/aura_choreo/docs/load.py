"""Loading the files a report documents: every choreography of each file, never raising on bad input."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aura_choreo.diagnostics import Diagnostic, has_errors, sort_diagnostics
from aura_choreo.protocol import Protocol, build_file
from aura_choreo.runtime.trace import TraceEvent


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


class TraceFileError(ValueError):
    """A trace file that cannot be read: the message says where and why."""


def read_trace(path: str) -> list[TraceEvent]:
    """The events of a JSONL trace (`simulate --trace-out`, `run`, the journal's export)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TraceFileError(f"cannot read `{path}`: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise TraceFileError(f"`{path}` is not UTF-8 text") from None
    events = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TraceFileError(f"{path}:{number}:{exc.colno}: invalid JSON: {exc.msg}") from None
        if not isinstance(data, dict) or "kind" not in data or "role" not in data:
            raise TraceFileError(f"{path}:{number}: not a trace event (needs at least `kind` and `role`)")
        events.append(TraceEvent.from_json(data))
    return events
