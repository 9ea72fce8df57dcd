"""The verdict of a trace check: issues (where and what) and the report that collects them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TraceIssue:
    """One way a trace departs from the protocol: where (session, role, event index) and what."""

    session: str
    message: str
    role: str | None = None
    event: int | None = None
    """Index of the offending event in the trace (0-based), when there is one."""

    def __str__(self) -> str:
        where = [f"session {self.session}"] if self.session else []
        if self.role:
            where.append(f"role {self.role}")
        if self.event is not None:
            where.append(f"event {self.event}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True)
class TraceReport:
    """The verdict on a trace: `ok` when there is no issue."""

    issues: tuple[TraceIssue, ...]
    sessions: tuple[str, ...]
    events: int

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "sessions": list(self.sessions),
            "events": self.events,
            "issues": [
                {"session": i.session, "role": i.role, "event": i.event, "message": i.message}
                for i in self.issues
            ],
        }
