"""Session traces: every send and receive an endpoint performs, with JSONL export and import.

One `Trace` may collect the events of many endpoints and sessions (it is handed to each session).
The JSON form of an event is one object per line:
`{"kind", "session", "protocol", "role", "from", "to", "label", "seq", "time"}` where `kind` is `send`,
`recv`, `choose`, `local`, `discard` (a quorum straggler), `late` (arrived after a timeout) or
`timeout`; `from`/`to` are the message's sender and receiver (for `choose`/`local`/`timeout`, both are
the role itself). `message_kind` says what a sent or received message was: `user` (a message of the
protocol) or `control` (saga control: `Done`, `Failed`, `Commit`, `Compensate`, SPEC §4.6); a line
without it (traces written before it existed) is a user message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

USER_MESSAGE = "user"
CONTROL_MESSAGE = "control"
"""The `message_kind`s of a trace event: a protocol message, or a saga control message."""

_UserFields = tuple[str, str, str, str, str, str, int, float, str]
_Fields = _UserFields | tuple[str, str, str, str, str, str, int, float, str, str]
"""A pending event's fields: without `message_kind` (a user message) or with it."""


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One thing one role did in one session."""

    kind: str
    session: str
    role: str
    sender: str
    receiver: str
    label: str
    seq: int
    time: float
    protocol: str = ""
    message_kind: str = USER_MESSAGE
    """`user` or `control` (a saga control message): what the message sent or received was."""

    @property
    def is_control(self) -> bool:
        """Whether this event sends or receives a saga control message."""
        return self.message_kind == CONTROL_MESSAGE

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "session": self.session,
            "protocol": self.protocol,
            "role": self.role,
            "from": self.sender,
            "to": self.receiver,
            "label": self.label,
            "seq": self.seq,
            "time": self.time,
            "message_kind": self.message_kind,
        }

    @staticmethod
    def from_json(data: dict[str, object]) -> TraceEvent:
        def text(key: str) -> str:
            return str(data.get(key, ""))

        seq = data.get("seq", 0)
        time = data.get("time", 0.0)
        return TraceEvent(
            kind=text("kind"),
            session=text("session"),
            role=text("role"),
            sender=text("from"),
            receiver=text("to"),
            label=text("label"),
            seq=seq if isinstance(seq, int) else 0,
            time=float(time) if isinstance(time, int | float) else 0.0,
            protocol=text("protocol"),
            message_kind=CONTROL_MESSAGE if data.get("message_kind") == CONTROL_MESSAGE else USER_MESSAGE,
        )


class Trace:
    """An append-only list of events, in the order they happened.

    Endpoints record raw field tuples (`record_fields`) on the hot path; they become `TraceEvent`s the
    first time `events` is read.
    """

    def __init__(self, events: Iterable[TraceEvent] = ()) -> None:
        self._events: list[TraceEvent] = list(events)
        self._pending: list[_Fields] = []

    @property
    def events(self) -> list[TraceEvent]:
        """Every event so far, in order."""
        if self._pending:
            self._events.extend(TraceEvent(*fields) for fields in self._pending)
            self._pending.clear()
        return self._events

    def record(self, event: TraceEvent) -> None:
        self._pending.append(
            (event.kind, event.session, event.role, event.sender, event.receiver, event.label, event.seq,
             event.time, event.protocol, event.message_kind)
        )  # fmt: skip

    def record_fields(
        self,
        kind: str,
        session: str,
        role: str,
        sender: str,
        receiver: str,
        label: str,
        seq: int,
        time: float,
        protocol: str,
    ) -> None:
        """Record an event of a user message (or no message) from its fields (what endpoints call for
        every send and receive)."""
        self._pending.append((kind, session, role, sender, receiver, label, seq, time, protocol))

    def sink(self) -> Callable[[tuple[str, str, str, str, str, str, int, float, str]], None]:
        """The hot path's `record_fields`: a callable taking the fields as one tuple (kind, session,
        role, sender, receiver, label, seq, time, protocol), with no call frame of its own."""
        return self._pending.append

    def record_control(
        self,
        kind: str,
        session: str,
        role: str,
        sender: str,
        receiver: str,
        label: str,
        seq: int,
        time: float,
        protocol: str,
    ) -> None:
        """Record the send or receipt of a saga control message."""
        self._pending.append(
            (kind, session, role, sender, receiver, label, seq, time, protocol, CONTROL_MESSAGE)
        )

    def field_rows(self, session: str) -> Iterator[tuple[str | int | float, ...]]:
        """One session's events as raw field tuples (kind, session, role, sender, receiver, label, seq,
        time, protocol[, message_kind]), without building a `TraceEvent` per event: what the journal
        stores (a user message's tuple has no `message_kind`)."""
        for event in self._events:
            if event.session == session:
                yield (event.kind, event.session, event.role, event.sender, event.receiver, event.label,
                       event.seq, event.time, event.protocol, event.message_kind)  # fmt: skip
        for fields in self._pending:
            if fields[1] == session:
                yield fields

    def rows_since(self, start: int) -> Sequence[tuple[str | int | float, ...]]:
        """The events from position `start` on (an event's position is how many were recorded before
        it) as raw field tuples, as `field_rows` gives them: what a journal streams while its sessions
        run (`start` is the length of the trace it had already read)."""
        done = len(self._events)
        if start >= done:
            return self._pending[start - done :]
        rows: list[tuple[str | int | float, ...]] = [
            (event.kind, event.session, event.role, event.sender, event.receiver, event.label,
             event.seq, event.time, event.protocol, event.message_kind)
            for event in self._events[start:]
        ]  # fmt: skip
        rows += self._pending
        return rows

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trace) and self.events == other.events

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Trace({len(self)} events)"

    def __iter__(self) -> Iterator[TraceEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self._events) + len(self._pending)

    def for_session(self, session: str) -> Trace:
        """The events of one session."""
        return Trace([e for e in self.events if e.session == session])

    def of_kind(self, *kinds: str) -> list[TraceEvent]:
        """The events of the given kinds, in order."""
        return [e for e in self.events if e.kind in kinds]

    def count(self, *kinds: str) -> int:
        """How many events are of the given kinds (without making a `TraceEvent` of each)."""
        # A generator: measured faster than `map`s of `itemgetter` and `kinds.__contains__` (called
        # with an argument tuple per event on 3.11).
        pending = sum(1 for fields in self._pending if fields[0] in kinds)
        return pending + sum(1 for e in self._events if e.kind in kinds)

    def deliveries(self) -> list[TraceEvent]:
        """The receive events: the messages delivered to roles, in delivery order."""
        return self.of_kind("recv")

    def to_jsonl(self) -> str:
        """One JSON object per line (empty string for an empty trace)."""
        return "".join(json.dumps(e.to_json(), sort_keys=True) + "\n" for e in self.events)

    def write_jsonl(self, path: str | Path) -> None:
        Path(path).write_text(self.to_jsonl(), encoding="utf-8")

    @staticmethod
    def from_jsonl(text: str | Iterable[str]) -> Trace:
        """Parse the output of `to_jsonl` (blank lines ignored)."""
        lines = text.splitlines() if isinstance(text, str) else text
        return Trace([TraceEvent.from_json(json.loads(line)) for line in lines if line.strip()])
