"""`SessionManager` (SPEC §8.5): the lifecycle of sessions, kept in the device's fact journal.

Every change (create, join, leave, a state move) is one fact committed to the journal before the call
returns: the journal is SQLite in WAL mode with a commit per change (§5.4), so a process killed at any
moment, even with SIGKILL, loses no change it reported. A manager opened on the same journal replays
those facts and lists every session with its last state. The journal is grow-only, so nothing is
deleted; `forget` records that a finished session no longer needs listing.

One manager per (journal, device) at a time: the journal hands out fact counters in memory, so two
writers of one device's journal would reuse them (the journal's rule, not only this manager's).

The states and the allowed moves are `session_states`' (one rule in one place); the clock is
injectable (`time.time` by default: lifetimes must survive a restart, which the event loop's clock
does not) so tests and simulations pass their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from aura_choreo.errors import PeerTimeout
from aura_choreo.journal import Fact, FactValue, Journal, JournalStore
from aura_choreo.orchestration.session_states import (
    TRANSITIONS,
    InvalidTransition,
    SessionConfig,
    SessionError,
    SessionLimitExceeded,
    SessionRecord,
    SessionState,
    UnknownParticipant,
    UnknownSession,
)
from aura_choreo.orchestration.timeouts import DeadlineExceeded

__all__ = ["SessionManager", "SessionMetrics"]

_DEFAULT_CONFIG = SessionConfig()
FACT_PREFIX = "session."
"""Facts the manager writes are named `session.<event>`: created, joined, left, state, forgotten."""


@dataclass
class SessionMetrics:
    """Counters since this manager was opened (the replay of the journal is not counted)."""

    created: int = 0
    joined: int = 0
    left: int = 0
    ended: dict[str, int] = field(default_factory=dict)
    """Sessions that reached each final state, by state name."""
    refused_limit: int = 0
    refused_transitions: int = 0
    stale_timed_out: int = 0
    peak_open: int = 0
    """The most sessions open (created or active) at once."""
    restored: int = 0
    """Sessions found in the journal when the manager was opened."""
    replay_skipped: int = 0
    """Journal facts the replay could not read (counted, never raised)."""


class SessionManager:
    """Sessions of one device: create / join / leave / end, a limit, stale cleanup, metrics.

    `SessionManager(journal)` over an open `Journal`, or `SessionManager.open(path, device)` for a
    journal file (closed again by `close`).
    """

    def __init__(
        self,
        journal: Journal,
        *,
        max_sessions: int = 1000,
        stale_after: float | None = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        self.journal = journal
        self.max_sessions = max_sessions
        self.stale_after = stale_after
        self._clock = clock
        self._owned_store: JournalStore | None = None
        self._records: dict[str, SessionRecord] = {}
        self.metrics = SessionMetrics()
        self._replay(journal.facts())
        self.metrics.restored = len(self._records)
        self.metrics.peak_open = self.open_count

    @classmethod
    def open(cls, path: str | Path, device: str, **options: object) -> SessionManager:
        """A manager over the journal at `path` (created if missing) for `device`."""
        store = JournalStore(path)
        try:
            manager = cls(Journal(device, store), **options)  # type: ignore[arg-type]
        except BaseException:
            store.close()
            raise
        manager._owned_store = store
        return manager

    def close(self) -> None:
        """Close the journal file if `open` opened it."""
        if self._owned_store is not None:
            self._owned_store.close()
            self._owned_store = None

    def __enter__(self) -> SessionManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ queries

    def get(self, session: str) -> SessionRecord:
        record = self._records.get(session)
        if record is None:
            raise UnknownSession("no such session", session=session)
        return record

    def sessions(self, state: SessionState | None = None) -> list[SessionRecord]:
        """Every known session (or those in `state`), oldest first."""
        found = (r for r in self._records.values() if state is None or r.state is state)
        return sorted(found, key=lambda r: (r.created_at, r.id))

    @property
    def open_count(self) -> int:
        """Sessions created or active (what the limit counts)."""
        return sum(1 for r in self._records.values() if not r.state.terminal)

    # ------------------------------------------------------------------ lifecycle

    def create(
        self, protocol: object, participants: Iterable[str], config: SessionConfig = _DEFAULT_CONFIG
    ) -> SessionRecord:
        """A new session of `protocol` (a `Protocol` or its name) for the roles `participants`."""
        name = getattr(protocol, "name", protocol)
        if not isinstance(name, str) or not name:
            raise SessionError(f"a session needs a protocol or a protocol name, got {protocol!r}")
        roles = tuple(dict.fromkeys(participants)) if not isinstance(participants, str) else ()
        if not roles or not all(isinstance(r, str) and r for r in roles):
            raise SessionError(f"a session needs at least one participant role, got {roles!r}")
        session = config.session_id or uuid.uuid4().hex
        if session in self._records:
            raise SessionError("a session with this id already exists", session=session)
        if self.open_count >= self.max_sessions:
            self.metrics.refused_limit += 1
            raise SessionLimitExceeded(
                f"{self.open_count} sessions are open, the limit is {self.max_sessions}", session=session
            )
        now = self._clock()
        record = SessionRecord(
            session, name, roles, SessionState.CREATED, now, now,
            timeout=config.timeout, stale_after=config.stale_after,
        )  # fmt: skip
        self._commit(
            "created", record, "",
            participants=json.dumps(roles), timeout=config.timeout, stale_after=config.stale_after,
        )  # fmt: skip
        self._records[session] = record
        self.metrics.created += 1
        self.metrics.peak_open = max(self.metrics.peak_open, self.open_count)
        return record

    def join(self, session: str, role: str, device: str | None = None) -> SessionRecord:
        """`role` joins from `device` (default: this journal's device); the session becomes active
        when every participant has joined."""
        record = self._participant(session, role)
        if record.state.terminal:
            self.metrics.refused_transitions += 1
            raise InvalidTransition(session, record.state, SessionState.ACTIVE)
        if role in record.joined:
            raise SessionError(f"role {role} has already joined", session=session)
        if role in record.left:
            raise SessionError(f"role {role} has left and cannot join again", session=session)
        device = device or self.journal.device
        now = self._clock()
        record = replace(record, joined={**record.joined, role: device}, updated_at=now)
        self._commit("joined", record, role, device=device)
        self._records[session] = record
        self.metrics.joined += 1
        if record.state is SessionState.CREATED and record.all_joined:
            record = self._move(record, SessionState.ACTIVE, "")
        return record

    def leave(self, session: str, role: str) -> SessionRecord:
        """`role` has finished its part (or given up): it no longer counts as joined."""
        record = self._participant(session, role)
        if role not in record.joined:
            raise SessionError(f"role {role} has not joined, so it cannot leave", session=session)
        joined = {r: d for r, d in record.joined.items() if r != role}
        record = replace(record, joined=joined, left=record.left | {role}, updated_at=self._clock())
        self._commit("left", record, role)
        self._records[session] = record
        self.metrics.left += 1
        return record

    def start(self, session: str) -> SessionRecord:
        """Move to `active` before every participant joined (e.g. roles that join lazily)."""
        return self._move(self.get(session), SessionState.ACTIVE, "")

    def end(
        self, session: str, outcome: SessionState = SessionState.COMPLETED, reason: str = ""
    ) -> SessionRecord:
        """End the session with `outcome` (completed, failed, timed_out or cancelled)."""
        if not outcome.terminal:
            raise SessionError(f"{outcome} is not an outcome a session can end with", session=session)
        return self._move(self.get(session), outcome, reason)

    def cancel(self, session: str, reason: str = "cancelled") -> SessionRecord:
        return self.end(session, SessionState.CANCELLED, reason)

    def transition(self, session: str, state: SessionState, reason: str = "") -> SessionRecord:
        """Any move the state machine allows; `InvalidTransition` for every other."""
        return self._move(self.get(session), state, reason)

    @contextlib.contextmanager
    def running(
        self,
        protocol: object,
        participants: Iterable[str],
        config: SessionConfig = _DEFAULT_CONFIG,
        *,
        device: str | None = None,
    ) -> Iterator[SessionRecord]:
        """`with manager.running(protocol, roles) as record:` creates the session, joins every
        participant (from `device`), and ends it with the block's outcome: completed; timed_out on a
        `PeerTimeout`, `DeadlineExceeded` or `TimeoutError`; cancelled on cancellation (or Ctrl-C);
        failed on any other error (named in the reason). The error itself propagates unchanged. A
        session the block already ended is left as it is."""
        record = self.create(protocol, participants, config)
        for role in record.participants:
            self.join(record.id, role, device)
        try:
            yield self.get(record.id)
        except BaseException as error:
            if not self.get(record.id).state.terminal:
                outcome, reason = _outcome_of(error)
                self.end(record.id, outcome, reason)
            raise
        if not self.get(record.id).state.terminal:
            self.end(record.id)

    def cleanup_stale(self, now: float | None = None) -> list[SessionRecord]:
        """Time out every open session past its `timeout` (from creation) or idle past its
        `stale_after` (from its last change); returns the sessions it timed out."""
        now = self._clock() if now is None else now
        expired = []
        for record in self.sessions():
            if record.state.terminal:
                continue
            stale_after = record.stale_after if record.stale_after is not None else self.stale_after
            if record.timeout is not None and now >= record.created_at + record.timeout:
                reason = f"no outcome within its {record.timeout:g} s timeout"
            elif stale_after is not None and now >= record.updated_at + stale_after:
                reason = f"no activity for {now - record.updated_at:g} s (stale after {stale_after:g} s)"
            else:
                continue
            expired.append(self._move(record, SessionState.TIMED_OUT, reason))
            self.metrics.stale_timed_out += 1
        return expired

    def forget(self, session: str) -> None:
        """Stop listing a finished session (now and after a restart)."""
        record = self.get(session)
        if not record.state.terminal:
            raise SessionError(
                f"only an ended session can be forgotten (it is {record.state})", session=session
            )
        self._commit("forgotten", record, "")
        del self._records[session]

    # ------------------------------------------------------------------ internals

    def _participant(self, session: str, role: str) -> SessionRecord:
        record = self.get(session)
        if role not in record.participants:
            raise UnknownParticipant(
                f"{role!r} is not a participant (participants: {', '.join(record.participants)})",
                session=session,
            )
        return record

    def _move(self, record: SessionRecord, state: SessionState, reason: str) -> SessionRecord:
        if state not in TRANSITIONS[record.state]:
            self.metrics.refused_transitions += 1
            raise InvalidTransition(record.id, record.state, state)
        moved = record.moved(state, self._clock(), reason)
        self._commit("state", moved, "", state=str(state), reason=reason)
        self._records[record.id] = moved
        if state.terminal:
            self.metrics.ended[str(state)] = self.metrics.ended.get(str(state), 0) + 1
        return moved

    def _commit(self, event: str, record: SessionRecord, role: str, **data: FactValue) -> None:
        journal = self.journal
        pending = journal.reserve(
            [FACT_PREFIX + event], protocol=record.protocol, session=record.id, role=role, label=event,
            data={"at": record.updated_at, **data},
        )  # fmt: skip
        try:
            journal.commit(pending)
        except BaseException:
            journal.release(pending)
            raise

    def _replay(self, facts: Iterable[Fact]) -> None:
        """Rebuild the records from this device's `session.*` facts, in the order they were written.

        Facts merged in from other devices (the journal is replicated) are theirs, not ours: skipped.
        """
        device = self.journal.device
        mine = sorted(
            (f for f in facts if f.id.device == device and f.name.startswith(FACT_PREFIX)),
            key=lambda f: f.id.counter,
        )
        for fact in mine:
            try:
                self._apply(fact)
            except (ValueError, TypeError, KeyError):  # a damaged fact must not stop the others
                self.metrics.replay_skipped += 1

    def _apply(self, fact: Fact) -> None:
        data = fact.data
        at = data.get("at")
        at = float(at) if isinstance(at, int | float) else 0.0
        event = fact.name[len(FACT_PREFIX) :]
        record = self._records.get(fact.session)
        if event == "created":
            roles = json.loads(str(data.get("participants", "[]")))
            self._records[fact.session] = SessionRecord(
                fact.session, fact.protocol, tuple(str(r) for r in roles), SessionState.CREATED, at, at,
                timeout=_number(data.get("timeout")), stale_after=_number(data.get("stale_after")),
            )  # fmt: skip
        elif record is None:
            return  # a fact about a session forgotten (or never created) here: nothing to rebuild
        elif event == "joined":
            joined = {**record.joined, fact.role: str(data.get("device", ""))}
            self._records[fact.session] = replace(record, joined=joined, updated_at=at)
        elif event == "left":
            joined = {r: d for r, d in record.joined.items() if r != fact.role}
            self._records[fact.session] = replace(
                record, joined=joined, left=record.left | {fact.role}, updated_at=at
            )
        elif event == "state":
            state = SessionState(str(data.get("state")))
            self._records[fact.session] = record.moved(state, at, str(data.get("reason") or ""))
        elif event == "forgotten":
            del self._records[fact.session]


def _outcome_of(error: BaseException) -> tuple[SessionState, str]:
    reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if isinstance(error, PeerTimeout | DeadlineExceeded | TimeoutError):
        return SessionState.TIMED_OUT, reason
    if isinstance(error, asyncio.CancelledError | KeyboardInterrupt):
        return SessionState.CANCELLED, reason
    return SessionState.FAILED, reason


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
