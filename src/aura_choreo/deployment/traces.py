"""Merge the traces of a distributed session (one `run --json` per role) into one checkable trace.

Each process records its own role's events in its own order; file order across processes means
nothing, and wall clocks on two hosts disagree. `merge_role_traces` interleaves them causally: every
role's events stay in order, and each arrival comes after the send it matches (same session, sender,
receiver and sequence number), ties broken by time. The result is what `check-trace` reads.

    python -m aura_choreo.deployment.traces coordinator.json participant.json > session.jsonl
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence

from aura_choreo.runtime.trace import TraceEvent

_ARRIVALS = frozenset({"recv", "discard", "late"})


def _key(event: TraceEvent) -> tuple[str, str, str, int]:
    return (event.session, event.sender, event.receiver, event.seq)


def merge_role_traces(traces: Iterable[Sequence[TraceEvent]]) -> list[TraceEvent]:
    """One causally ordered trace from per-role traces (see the module docstring)."""
    queues = [list(t) for t in traces]
    heads = [0] * len(queues)
    sends = {_key(e) for q in queues for e in q if e.kind == "send" and e.seq}
    emitted: set[tuple[str, str, str, int]] = set()
    merged: list[TraceEvent] = []
    while True:
        ready: list[tuple[float, int]] = []
        waiting: list[tuple[float, int]] = []
        for index, queue in enumerate(queues):
            if heads[index] >= len(queue):
                continue
            event = queue[heads[index]]
            blocked = (
                event.kind in _ARRIVALS and event.seq and _key(event) in sends and _key(event) not in emitted
            )
            (waiting if blocked else ready).append((event.time, index))
        if not ready and not waiting:
            return merged
        _, index = min(ready or waiting)  # all blocked only if the traces are inconsistent: keep going
        event = queues[index][heads[index]]
        heads[index] += 1
        if event.kind == "send":
            emitted.add(_key(event))
        merged.append(event)


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
