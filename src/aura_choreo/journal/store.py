"""The SQLite journal store: facts of one or more devices, and session traces, in one WAL database.

Durability: the database runs in WAL mode with `synchronous=FULL` by default. WAL alone (even with
`synchronous=NORMAL`) already survives a killed process, because a commit has been written to the WAL
file through the OS before `commit()` returns and the OS keeps it when the process dies. FULL also
fsyncs the WAL at every commit, so a committed fact survives a power cut or kernel crash as well: a
fact is coupled to a send a peer has already received, and losing it would leave this journal
disagreeing with what peers saw. `synchronous="NORMAL"` trades that last guarantee for speed.

Every commit of a file store costs a disk sync, so sends that wait on durability share them: `group`
(a `GroupCommit`) writes the facts and flow-budget charges of every send that arrived while the previous
batch was syncing in one transaction. Fact data and trace events are stored in a versioned binary form
(`journal.codec`); rows written as JSON text by earlier versions are still read.

One connection serves the event loop's thread and the group commit's writer thread, one at a time.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from aura_choreo.errors import JournalError
from aura_choreo.journal.codec import TraceRow, decode_events, decode_signed, encode_data, encode_events
from aura_choreo.journal.facts import Fact, FactId
from aura_choreo.journal.group import BudgetRow, GroupCommit, TraceChunk, WriteBatch, WriteItem

DEFAULT_JOURNAL_PATH = Path(".aura") / "journal.db"
MEMORY = ":memory:"

Synchronous = Literal["FULL", "NORMAL"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    owner TEXT NOT NULL,
    device TEXT NOT NULL,
    counter INTEGER NOT NULL,
    name TEXT NOT NULL,
    protocol TEXT NOT NULL,
    session TEXT NOT NULL,
    role TEXT NOT NULL,
    label TEXT NOT NULL,
    lamport INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (owner, device, counter)
);
CREATE TABLE IF NOT EXISTS trace_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session TEXT NOT NULL,
    protocol TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trace_events_by_session ON trace_events (session, id);
CREATE TABLE IF NOT EXISTS flow_budgets (
    owner TEXT NOT NULL,
    context TEXT NOT NULL,
    peer TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    spent INTEGER NOT NULL,
    PRIMARY KEY (owner, context, peer)
);
"""
# `data` and `event` are declared TEXT for the databases created before the binary form: SQLite keeps a
# BLOB stored in a TEXT column as a BLOB, so old (JSON text) and new (versioned BLOB) rows coexist. An
# old `event` is one JSON event; a new one is a chunk of events (one per `append_trace_events`).

_INSERT_FACT = "INSERT OR IGNORE INTO facts VALUES (?,?,?,?,?,?,?,?,?,?)"
_INSERT_TRACE = "INSERT INTO trace_events (session, protocol, event) VALUES (?,?,?)"
# A budget only moves forward: a newer epoch, or more spent in the same one (charges are never refunded).
_UPSERT_BUDGET = (
    "INSERT INTO flow_budgets VALUES (?,?,?,?,?) ON CONFLICT (owner, context, peer) DO UPDATE SET "
    "epoch = excluded.epoch, spent = excluded.spent "
    "WHERE (excluded.epoch, excluded.spent) > (flow_budgets.epoch, flow_budgets.spent)"
)


def cannot_open(what: str, path: str, exc: OSError | sqlite3.Error | ValueError) -> JournalError:
    """The typed error for an SQLite file of the journal's (`what`: "journal", "device storage") that
    `exc` kept from opening, naming the file and saying why in the user's terms."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if isinstance(exc, FileExistsError | NotADirectoryError):  # from mkdir: "File exists"
        reason = "a folder on its path is a file"
    elif isinstance(exc, ValueError):  # mkdir's and connect's "embedded null byte"
        reason = "the path holds a NUL character"
        path = path.replace("\0", "\\0")
    elif Path(path).is_dir():  # SQLite only says "unable to open database file"
        reason = "it is a directory"
    return JournalError(f"{what} `{path}`: cannot open: {reason}")


class JournalStore:
    """Facts per owning device, flow-budget charges and trace events per session, in SQLite.

    `path` is a file (parent folders are created) or `":memory:"`.
    """

    def __init__(self, path: str | Path = DEFAULT_JOURNAL_PATH, *, synchronous: Synchronous = "FULL") -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, got {synchronous!r}")
        self.path = str(path)
        self._memory = self.path == MEMORY
        # A path that cannot hold a journal is the user's error (typed, naming the file), whatever
        # step finds out: the folder, the connection, WAL mode or the schema of a foreign file.
        try:
            if self.path != MEMORY:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: every write below opens and commits its own explicit transaction.
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._lock = threading.Lock()
            if self.path != MEMORY:
                mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise OSError(f"SQLite refused WAL mode (got {mode})")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error, ValueError) as exc:
            if hasattr(self, "_db"):
                self._db.close()
            raise cannot_open("journal", self.path, exc) from exc
        self._behind: list[WriteItem] = []
        self._traces_behind: list[TraceChunk] = []
        """Trace rows an in-memory store keeps until its traces are read (`append_trace_rows`)."""
        self.group = GroupCommit(self.write_batch)
        """Group commit of sends waiting on durability (see `GroupCommit`)."""

    @property
    def durable(self) -> bool:
        """Whether commits reach a file (and so cost a disk sync each): then sends share them."""
        return not self._memory

    def close(self) -> None:
        self.group.close()
        self._behind.clear()  # only an in-memory store writes behind: closing it discards it anyway
        self._traces_behind.clear()
        with self._lock:
            self._db.close()

    def settings(self) -> dict[str, str]:
        """The connection's durability settings as SQLite reports them (`journal_mode`, `synchronous`)."""
        with self._lock:
            mode = str(self._db.execute("PRAGMA journal_mode").fetchone()[0]).upper()
            level = int(self._db.execute("PRAGMA synchronous").fetchone()[0])
        return {"journal_mode": mode, "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[level]}

    def __enter__(self) -> JournalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append_facts(self, owner: str, facts: Sequence[Fact], budgets: Sequence[BudgetRow] = ()) -> None:
        """Write facts to `owner`'s journal (and flow-budget charges) in one transaction; facts already
        there are skipped.

        An in-memory store has nothing to make durable: it writes behind, keeping the writes (references
        to facts its journals hold anyway) until something reads the store back, then writes them all in
        one transaction. Encoding and inserting rows nobody reads was a tenth of a guarded send's cost."""
        if not budgets and not facts:
            return
        if self._memory:
            self._behind.append((owner, facts, budgets))
            return
        self.write_batch([(owner, facts, budgets)])

    def write_behind(self) -> Callable[[WriteItem], None] | None:
        """For an in-memory store, what `append_facts` does with one write, without its checks: a
        journal hands its commits straight to it (one call less per guarded send). None for a file
        store, whose writes are made durable at once."""
        return self._behind.append if self._memory else None

    def _write_behind(self) -> None:
        if self._behind:
            batch = list(self._behind)
            self._behind.clear()  # in place: `write_behind()` handed out its `append`
            self.write_batch(batch)

    def write_batch(self, batch: WriteBatch, traces: Sequence[TraceChunk] = ()) -> int:
        """Write the facts and budget charges of many sends, and chunks of session traces (in order),
        in one transaction (a group commit).

        Returns how many facts were new."""
        rows = [
            (owner, f.id.device, f.id.counter, f.name, f.protocol, f.session, f.role, f.label, f.lamport,
             encode_data(f.data, f.signature))
            for owner, facts, _ in batch
            for f in facts
        ]  # fmt: skip
        # Only the furthest charge of each budget matters (they only move forward): one row each.
        latest: dict[tuple[str, str, str], tuple[int, int]] = {}
        for owner, _, budgets in batch:
            for context, peer, epoch, spent in budgets:
                key = (owner, context, peer)
                if latest.get(key, (-1, -1)) < (epoch, spent):
                    latest[key] = (epoch, spent)
        charges = [(*key, *charge) for key, charge in latest.items()]
        events = [(session, protocol, encode_events(chunk)) for session, protocol, chunk in traces if chunk]
        with self._lock:
            db = self._db
            before = db.total_changes
            if len(rows) == 1 and not charges and not events:
                db.execute(_INSERT_FACT, rows[0])  # one statement is its own transaction
                return db.total_changes - before
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(_INSERT_FACT, rows)
                new = db.total_changes - before
                db.executemany(_UPSERT_BUDGET, charges)
                db.executemany(_INSERT_TRACE, events)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return new

    def load_facts(self, owner: str) -> list[Fact]:
        """Every fact in `owner`'s journal, ordered by (device, counter)."""
        self._write_behind()
        with self._lock:
            rows = self._db.execute(
                "SELECT device, counter, name, protocol, session, role, label, lamport, data "
                "FROM facts WHERE owner = ? ORDER BY device, counter",
                (owner,),
            ).fetchall()
        return [
            Fact(FactId(d, c), name, protocol, session, role, label, lamport, *decode_signed(data))
            for d, c, name, protocol, session, role, label, lamport, data in rows
        ]

    def load_budgets(self, owner: str) -> list[BudgetRow]:
        """`owner`'s stored flow-budget charges: (context, peer, epoch, spent), ordered."""
        self._write_behind()
        with self._lock:
            rows = self._db.execute(
                "SELECT context, peer, epoch, spent FROM flow_budgets WHERE owner = ? ORDER BY context, peer",
                (owner,),
            ).fetchall()
        return [(str(c), str(p), int(e), int(s)) for c, p, e, s in rows]

    def owners(self) -> list[str]:
        self._write_behind()
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT DISTINCT owner FROM facts ORDER BY owner")]

    def append_trace_events(
        self, session: str, protocol: str, events: Iterable[Mapping[str, object] | TraceRow]
    ) -> None:
        """Store a session's trace events in order: JSON-like objects, or rows of `codec.TRACE_FIELDS`
        (what the runtime's trace holds, stored without building an object per event).

        They go in one row (one binary chunk), appended after the session's earlier chunks."""
        self._traces_written()
        chunk = encode_events(events)
        if chunk is None:
            return
        with self._lock:
            self._db.execute(_INSERT_TRACE, (session, protocol, chunk))

    def append_trace_rows(
        self, session: str, protocol: str, rows: Sequence[TraceRow], *, grouped: bool = False
    ) -> None:
        """`append_trace_events` for rows of `codec.TRACE_FIELDS` (tuples: nothing can change them
        later), e.g. the next chunk of a running session's trace.

        An in-memory store keeps them as they are and encodes them when its traces are read: a session's
        trace costs nothing more while it runs or when it ends. A file store with `grouped` (called on
        a loop with the real clock) writes them with its next group-commit batch, off the loop; without
        it, at once. Either way chunks are stored in the order they were given, and every read sees
        every chunk given before it."""
        if self._memory:
            if rows:
                self._traces_behind.append((session, protocol, rows))
        elif grouped:
            if rows:
                self.group.submit_trace((session, protocol, rows))
        else:
            self.append_trace_events(session, protocol, rows)

    def _traces_written(self) -> None:
        """Write the trace chunks not written yet, in order: those an in-memory store kept, and those
        queued for a file store's next group-commit batch (once the batch being written has committed).
        Runs before anything reads or adds to the store's traces."""
        kept = self._traces_behind if self._memory else self.group.drain()
        if kept:
            chunks = list(kept)
            kept.clear()
            events = [(session, protocol, encode_events(rows)) for session, protocol, rows in chunks if rows]
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany(_INSERT_TRACE, events)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")

    def trace_events(self, session: str) -> list[dict[str, object]]:
        """A session's stored trace events, in the order they were recorded."""
        self._traces_written()
        with self._lock:
            rows = self._db.execute(
                "SELECT event FROM trace_events WHERE session = ? ORDER BY id", (session,)
            ).fetchall()
        return [event for row in rows for event in decode_events(row[0])]

    def sessions(self) -> list[str]:
        self._traces_written()
        with self._lock:
            rows = self._db.execute(
                "SELECT session FROM trace_events GROUP BY session ORDER BY MIN(id)"
            ).fetchall()
        return [row[0] for row in rows]
