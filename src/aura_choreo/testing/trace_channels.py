"""Global consistency of a trace: every arrival was sent before, once, and channels are FIFO per label."""

from __future__ import annotations

from collections import defaultdict

from aura_choreo.runtime.trace import TraceEvent
from aura_choreo.testing.trace_issues import TraceIssue

_ARRIVALS = ("recv", "discard", "late")


def check_channels(
    session: str,
    indexed: list[tuple[int, TraceEvent]],
    complete: bool,
    given_up: set[tuple[str, str, str]],
) -> list[TraceIssue]:
    """Every arrival matches an earlier send (by sequence number when the trace has them), no message
    arrives twice, and messages of one label on one channel are consumed in the order they were sent.

    Saga control messages (events whose `message_kind` is `control`: Done, Failed, Commit, Compensate)
    travel beside the data and may legitimately stay unread, so they are only checked for having been
    sent; so may messages the receiver gave up on
    (`given_up`: (sender, receiver, label) of an expired timeout or a compensated saga).
    """
    issues: list[TraceIssue] = []
    by_seq: dict[tuple[str, str, int], tuple[int, TraceEvent]] = {}
    by_label: dict[tuple[str, str, str], list[tuple[int, TraceEvent]]] = defaultdict(list)
    consumed: dict[tuple[str, str, str], int] = defaultdict(int)
    arrived_seqs: set[tuple[str, str, int]] = set()
    last_seq: dict[tuple[str, str, str], int] = {}
    for index, event in indexed:
        key = (event.sender, event.receiver, event.label)
        if event.kind == "send" and event.role == event.sender:
            by_label[key].append((index, event))
            if event.seq:
                by_seq[(event.sender, event.receiver, event.seq)] = (index, event)
            continue
        if event.kind not in _ARRIVALS or event.role != event.receiver:
            continue
        what = f"{event.label} from {event.sender} to {event.receiver}"
        if event.seq:
            seq_key = (event.sender, event.receiver, event.seq)
            sent = by_seq.get(seq_key)
            if sent is None or sent[1].label != event.label:
                issues.append(
                    TraceIssue(session, f"{what} (seq {event.seq}) was never sent before", event.role, index)
                )
                continue
            if seq_key in arrived_seqs:
                issues.append(
                    TraceIssue(session, f"{what} (seq {event.seq}) arrived twice", event.role, index)
                )
                continue
            arrived_seqs.add(seq_key)
            if not event.is_control and last_seq.get(key, 0) > event.seq:
                issues.append(
                    TraceIssue(
                        session,
                        f"channel {event.sender} -> {event.receiver} is not FIFO: {event.label} "
                        f"seq {event.seq} arrived after seq {last_seq[key]}",
                        event.role,
                        index,
                    )
                )
            last_seq[key] = max(last_seq.get(key, 0), event.seq)
            consumed[key] += 1
            continue
        k = consumed[key]
        consumed[key] = k + 1
        if k >= len(by_label[key]):
            issues.append(TraceIssue(session, f"{what} arrived but was never sent before", event.role, index))
    if complete:
        for key, sent_events in by_label.items():
            if key in given_up:
                continue
            for index, event in sent_events[consumed[key] :]:
                if event.is_control:
                    continue
                issues.append(
                    TraceIssue(
                        session,
                        f"{event.label} from {key[0]} to {key[1]} was sent but never arrived",
                        event.role,
                        index,
                    )
                )
    return issues
