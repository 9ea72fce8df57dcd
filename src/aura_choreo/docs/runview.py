"""Runs drawn as sequence diagrams: a model-checker counterexample or a recorded trace.

Each event gets a row; a message is an arrow from its send row to its receive row (so reordering and
delay show as slanted, crossing arrows). Each row carries at most one label, which is why labels never
overlap. Marks: a message sent and never received is *lost* (a short arrow ending in a cross), a
second arrival is a *duplicate*, an arrival after its receiver gave up is *late*, and events a trace
check flagged are *violations*; the first divergence from the protocol gets a highlighted band.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aura_choreo.docs.sequence import Lifelines, column_width
from aura_choreo.docs.svg import Canvas, fit

_TOP = 48.0
_ROW = 22.0
RECEIVE_KINDS = frozenset({"recv", "late", "discard"})


@dataclass(frozen=True)
class RunEvent:
    """One event of a run: `role` sends to / receives from `peer`, or does something alone."""

    kind: str
    role: str
    peer: str = ""
    label: str = ""
    seq: int = 0
    note: str = ""
    """Why the event is marked (a trace-check issue), shown as its tooltip."""


def events_from_steps(steps: Iterable[object]) -> list[RunEvent]:
    """Counterexample steps (`verify.TraceStep`) as run events."""
    out = []
    for s in steps:
        kind, role = str(getattr(s, "kind", "")), str(getattr(s, "role", ""))
        peer, label = str(getattr(s, "peer", "")), str(getattr(s, "label", ""))
        out.append(RunEvent(kind, role, peer, label))
    return out


def events_from_trace(events: Iterable[object]) -> list[RunEvent]:
    """Runtime trace events (`runtime.TraceEvent`) as run events."""
    out = []
    for e in events:
        kind, role = str(getattr(e, "kind", "")), str(getattr(e, "role", ""))
        sender, receiver = str(getattr(e, "sender", "")), str(getattr(e, "receiver", ""))
        peer = receiver if kind == "send" else sender if kind in RECEIVE_KINDS else ""
        seq = getattr(e, "seq", 0)
        out.append(
            RunEvent(kind, role, peer, str(getattr(e, "label", "")), seq if isinstance(seq, int) else 0)
        )
    return out


@dataclass(frozen=True)
class RunMarks:
    """What the drawing found: counts per mark, for the report's summary line."""

    lost: int
    duplicated: int
    late: int
    violations: int


class RunDiagram:
    """Lays out `events` over `roles`; `issues` maps event index -> issue text (violations)."""

    def __init__(
        self,
        roles: Sequence[str],
        events: Sequence[RunEvent],
        issues: Mapping[int, str] | None = None,
        title: str = "",
    ):
        self.events = list(events)
        self.issues = dict(issues or {})
        known = list(roles)
        for e in self.events:  # a trace may name a role the protocol lacks: still draw it
            for r in (e.role, e.peer):
                if r and r not in known:
                    known.append(r)
        self.canvas = Canvas("run")
        self.lanes = Lifelines(
            known,
            # room for the longest mark too: "✗ Label (lost)", "duplicate Label"
            column_width(known, [(e.role, e.peer, f"x {e.label} (lost)") for e in self.events if e.peer]),
            self.canvas,
        )
        self.title = title
        self.first = min(self.issues) if self.issues else None
        self._arrivals: dict[int, list[tuple[int, str]]] = defaultdict(list)
        self._match()
        self._draw()

    def row_y(self, index: int) -> float:
        return _TOP + index * _ROW + _ROW / 2

    def _match(self) -> None:
        """Pair every arrival with the send it delivers (by sequence number, else FIFO per channel)."""
        by_seq: dict[tuple[str, str, int], int] = {}
        fifo: dict[tuple[str, str, str], deque[int]] = defaultdict(deque)
        self.source: dict[int, int | None] = {}
        for i, e in enumerate(self.events):
            if e.kind == "send":
                if e.seq:
                    by_seq[(e.role, e.peer, e.seq)] = i
                fifo[(e.role, e.peer, e.label)].append(i)
            elif e.kind in RECEIVE_KINDS:
                sent = by_seq.get((e.peer, e.role, e.seq)) if e.seq else None
                queue = fifo[(e.peer, e.role, e.label)]
                if sent is None and queue:
                    sent = queue.popleft()
                elif sent is not None and sent in queue:
                    queue.remove(sent)
                self.source[i] = sent
                if sent is not None:
                    self._arrivals[sent].append((i, e.kind))

    def marks(self) -> RunMarks:
        sends = [i for i, e in enumerate(self.events) if e.kind == "send"]
        lost = sum(1 for i in sends if not self._arrivals.get(i))
        dup = sum(max(0, len(self._arrivals.get(i, [])) - 1) for i in sends)
        late = sum(1 for e in self.events if e.kind == "late")
        return RunMarks(lost, dup, late, len(self.issues))

    def _draw(self) -> None:
        c = self.canvas
        if self.first is not None:
            top = self.row_y(self.first) - _ROW / 2
            width = 10 + self.lanes.col_w * len(self.lanes.roles)
            c.raw(
                f'<rect class="diverge" data-first-divergence="1" x="0" y="{top:.1f}" '
                f'width="{width:.1f}" height="{_ROW}"/>'
            )
        seen: set[int] = set()
        for i, e in enumerate(self.events):
            y = self.row_y(i)
            x = self.lanes.x[e.role] if e.role in self.lanes.x else None
            if x is None:
                continue
            bad = i in self.issues
            if e.kind == "send":
                self._send(i, e, x, y, bad)
            elif e.kind in RECEIVE_KINDS:
                sent = self.source.get(i)
                dup = sent is not None and sent in seen
                if sent is not None:
                    seen.add(sent)
                self._arrival(i, e, x, y, sent, dup, bad)
            else:
                what = e.label or e.kind
                text = f"{e.kind} {what}" if e.kind not in ("local", "tau") else what
                c.circle(x, y, 3, "dot-bad" if bad else "dot")
                c.text(
                    x + 8,
                    y + 4,
                    ("\u2717 " if bad else "") + text,
                    "bad" if bad else "t",
                    title=e.note or self.issues.get(i, ""),
                )
        self.lanes.finish(self.row_y(len(self.events)) + 4)

    def _send(self, i: int, e: RunEvent, x: float, y: float, bad: bool) -> None:
        c = self.canvas
        px = self.lanes.x.get(e.peer, x)
        right = px >= x
        arrivals = self._arrivals.get(i, [])
        c.circle(x, y, 3, "dot-bad" if bad else "dot")
        label = e.label
        cls = "bad" if bad else "msg"
        if not arrivals:
            mid = x + (px - x) / 2
            c.line(x, y, mid, y, "lost")
            c.line(mid - 5, y - 5, mid + 5, y + 5, "lost-x")
            c.line(mid - 5, y + 5, mid + 5, y - 5, "lost-x")
            label += " (lost)"
            cls = "bad"
        room = max(abs(px - x) - 12, self.lanes.col_w - 20)
        issue = self.issues.get(i, "")
        if not right:
            room = min(room, x - 16)
        shown = fit(("\u2717 " if bad else "") + label, max(room, 24))
        c.text(
            x + 8 if right else x - 8, y - 5, shown, cls, "start" if right else "end", title=issue or label
        )

    def _arrival(
        self, i: int, e: RunEvent, x: float, y: float, sent: int | None, dup: bool, bad: bool
    ) -> None:
        c = self.canvas
        issue = self.issues.get(i, "")
        if sent is None:
            c.circle(x, y, 4, "dot-bad")
            c.text(x + 8, y + 4, f"\u2717 {e.label} from {e.peer} (never sent)", "bad", title=issue)
            return
        sx, sy = self.lanes.x[self.events[sent].role], self.row_y(sent)
        kind = "late" if e.kind == "late" else "dup" if dup else "discard" if e.kind == "discard" else ""
        cls = "violation" if bad else kind or "arrow"
        tip = x - 2 if x > sx else x + 2
        c.line(sx, sy, tip, y, cls, "arrow-bad" if cls != "arrow" else "arrow")
        if not (kind or bad):
            return
        mark = {"late": "late ", "dup": "duplicate ", "discard": "discarded ", "": ""}[kind]
        text = ("\u2717 " if bad else "") + mark + e.label
        right = x >= sx  # the arrow comes from the left: the label goes left of the lifeline, and fits
        text = fit(text, max(x - 16, 24)) if right else text
        c.text(
            x - 8 if right else x + 8,
            y + 4,
            text,
            "bad" if bad else "mark",
            "end" if right else "start",
            title=issue or text,
        )
