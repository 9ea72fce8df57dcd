"""Reading a JSONL trace file (`simulate --trace-out`, `run`, the journal's export) into events.

One reader for every command that takes a trace (`check-trace`, `doc --trace`); a file that cannot be
read, or a line that is no trace event, is a `TraceFileError` naming the file and line.
"""

from __future__ import annotations

import json
from pathlib import Path

from aura_choreo.runtime.trace import TraceEvent


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
