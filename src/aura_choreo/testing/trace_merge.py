"""A causal order of several roles' events: the one rule for putting per-role traces into one trace.

Each role records its own events in its own order; the order of roles' events relative to each other
(file order of concatenated role traces, wall clocks on different hosts) means nothing. `causal_order`
interleaves them: every role's events stay in their order, and an arrival (`recv`, `discard`, `late`)
comes after the send it matches (same session, sender, receiver and sequence number). Among the events
free to go next, the one with the smallest rank goes first. `check_trace` ranks by position in the file
(so a trace already in causal order is left as it is) and `deployment.traces` by time.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import TypeVar

from aura_choreo.runtime.trace import TraceEvent

__all__ = ["causal_order", "merge_role_traces"]

Item = TypeVar("Item", bound=tuple[float, TraceEvent])
"""(rank, event): the rank breaks ties between events that are free to go next."""
_ARRIVALS = frozenset({"recv", "discard", "late"})
_Key = tuple[str, str, str, int]


def _key(event: TraceEvent) -> _Key:
    return (event.session, event.sender, event.receiver, event.seq)


def causal_order(per_role: Iterable[Sequence[Item]]) -> list[Item]:
    """The items of every role, each role's in its order, each arrival after its send.

    An arrival whose send is in none of the traces is free to go (the check reports it). If every role
    waits for a send that has not gone, the traces are inconsistent (a causal cycle): the waiting event
    of smallest rank goes anyway, so every item is returned and the check can report the cycle.
    """
    queues = [list(q) for q in per_role]
    heads = [0] * len(queues)
    sent = {_key(e) for q in queues for _, e in q if e.kind == "send" and e.seq}
    emitted: set[_Key] = set()
    ready: list[tuple[float, int]] = []
    waiting: dict[_Key, list[int]] = {}
    ordered: list[Item] = []

    def offer(queue: int) -> None:
        if heads[queue] >= len(queues[queue]):
            return
        rank, event = queues[queue][heads[queue]]
        if event.kind in _ARRIVALS and event.seq and (key := _key(event)) in sent and key not in emitted:
            waiting.setdefault(key, []).append(queue)
        else:
            heapq.heappush(ready, (rank, queue))

    for queue in range(len(queues)):
        offer(queue)
    while ready or waiting:
        if ready:
            _, queue = heapq.heappop(ready)
        else:
            _, queue, key = min((queues[q][heads[q]][0], q, k) for k, qs in waiting.items() for q in qs)
            waiting[key].remove(queue)
            if not waiting[key]:
                del waiting[key]
        item = queues[queue][heads[queue]]
        heads[queue] += 1
        ordered.append(item)
        event = item[1]
        if event.kind == "send" and event.seq:
            key = _key(event)
            emitted.add(key)
            for freed in waiting.pop(key, ()):
                heapq.heappush(ready, (queues[freed][heads[freed]][0], freed))
        offer(queue)
    return ordered


def merge_role_traces(traces: Iterable[Sequence[TraceEvent]]) -> list[TraceEvent]:
    """One causally ordered trace from per-role traces (one `run --json` per role), ties by time."""
    ranked = ([(event.time, event) for event in trace] for trace in traces)
    return [event for _, event in causal_order(ranked)]
