"""Session traces stored in the journal as they grow (SPEC §5.4), not built when the session ends.

Per session run in this process, `SessionTraces` knows the roles whose endpoints joined, how many of
them have not left, and, per trace those endpoints record in, how far its events were stored. With a
file journal, once `chunk` events have piled up past that point, the next accepted send stores them:
with the facts of the next group-commit batch (off the loop) on a loop with the real clock, at once
otherwise. So a process killed mid-session keeps the events stored so far, and the end of a session
stores only its last chunk. An in-memory journal has nothing to keep safe: its chunk is the whole
trace, handed over (not encoded) when the last endpoint leaves.

A stored chunk holds the events of the joined roles only (another process stores its own roles'), in
the order they happened; several sessions may share one trace, each taking its own events from it.
Events recorded before the session's first endpoint joined here belong to no endpoint of it, so
storing starts at the length the trace had then (a `SessionContext` without a trace: at its start).
"""

from __future__ import annotations

from operator import countOf, itemgetter

from aura_choreo.journal import JournalStore
from aura_choreo.journal.group import on_real_clock
from aura_choreo.runtime.extensions import SessionContext
from aura_choreo.runtime.trace import Trace

TRACE_CHUNK = 64
"""Events of a running session's trace stored together (a file journal)."""
_SESSION = itemgetter(1)
_ROLE = itemgetter(2)
"""An event row's session and role (`Trace.rows_since`)."""


class _Cursor:
    """A trace one session's endpoints record in, and how much of it was stored."""

    __slots__ = ("stored", "trace")

    def __init__(self, trace: Trace, stored: int) -> None:
        self.trace = trace
        self.stored = stored


class _Joined:
    """One session in this process: its protocol, the roles that joined, the endpoints not yet left."""

    __slots__ = ("active", "cursors", "protocol", "roles")

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self.roles: set[str] = set()
        self.active = 0
        self.cursors: dict[int, _Cursor] = {}
        """By the identity of the trace (held by the cursor, so the identity stays unique)."""

    def follow(self, trace: Trace, stored: int) -> None:
        if id(trace) not in self.cursors:
            self.cursors[id(trace)] = _Cursor(trace, stored)


class SessionTraces:
    """Stores the traces of the sessions whose endpoints join and leave (see the module docstring)."""

    def __init__(self, store: JournalStore | None, *, chunk: int = TRACE_CHUNK) -> None:
        self.store = store
        self.chunk = chunk
        self.streaming = store is not None and store.durable
        """Whether chunks are stored while sessions run (a file journal): see `sent`."""
        self._joined: dict[str, _Joined] = {}

    def join(self, ctx: SessionContext) -> None:
        """An endpoint of `ctx.session` joined (counted even if it is then refused: it still leaves)."""
        joined = self._joined.get(ctx.session)
        if joined is None:
            joined = self._joined[ctx.session] = _Joined(ctx.protocol)
        joined.roles.add(ctx.role)
        joined.active += 1
        if ctx.trace is not None:
            joined.follow(ctx.trace, len(ctx.trace))

    def leave(self, ctx: SessionContext, trace: Trace) -> bool:
        """An endpoint left; True if it was its session's last here: the rest of the session's trace
        is then stored, and the session forgotten."""
        joined = self._joined.get(ctx.session)
        if joined is None:
            return False
        joined.active -= 1
        if joined.active > 0:
            return False
        del self._joined[ctx.session]
        if self.store is not None:
            joined.follow(trace, 0)  # a trace the endpoints did not name when they joined: all of it
            for cursor in joined.cursors.values():
                self._store(ctx.session, joined, cursor, self.store)
        return True

    def sent(self, session: str) -> None:
        """A send of `session` was accepted: with a file journal, store its traces' next chunk once
        `chunk` events are waiting."""
        joined = self._joined.get(session)
        if joined is None or self.store is None:
            return
        for cursor in joined.cursors.values():
            if len(cursor.trace) - cursor.stored >= self.chunk:
                self._store(session, joined, cursor, self.store)

    def _store(self, session: str, joined: _Joined, cursor: _Cursor, store: JournalStore) -> None:
        rows = cursor.trace.rows_since(cursor.stored)
        cursor.stored += len(rows)
        roles = joined.roles
        if countOf(map(_SESSION, rows), session) == len(rows) and roles.issuperset(map(_ROLE, rows)):
            kept = rows  # the common case, checked without a Python frame per event: all of them
        else:
            kept = [row for row in rows if row[1] == session and row[2] in roles]
        store.append_trace_rows(session, joined.protocol, kept, grouped=self.streaming and on_real_clock())
