"""Merge the traces of a distributed session (one `run --json` per role) into one checkable trace.

Each process records its own role's events in its own order; file order across processes means
nothing, and wall clocks on two hosts disagree. `merge_role_traces` interleaves them causally: every
role's events stay in order, and each arrival comes after the send it matches (same session, sender,
receiver and sequence number), ties broken by time (`testing.trace_merge`, the rule `check-trace`
also applies to role traces simply concatenated). The merged file reads in the order things happened.

    python -m aura_choreo.deployment.traces coordinator.json participant.json > session.jsonl
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from aura_choreo.runtime.trace import TraceEvent
from aura_choreo.testing.trace_merge import merge_role_traces

__all__ = ["events_of_run_document", "main", "merge_role_traces"]


def events_of_run_document(document: object) -> list[TraceEvent]:
    """The trace events of one `run --json` document."""
    if not isinstance(document, dict) or not isinstance(document.get("trace"), list):
        raise ValueError("not a `run --json` document (no `trace` list)")
    return [TraceEvent.from_json(e) for e in document["trace"] if isinstance(e, dict)]


def main(paths: Sequence[str]) -> int:
    try:
        traces = [events_of_run_document(json.loads(open(p, encoding="utf-8").read())) for p in paths]
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for event in merge_role_traces(traces):
        print(json.dumps(event.to_json()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
