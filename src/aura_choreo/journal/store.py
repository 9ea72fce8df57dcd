"""The SQLite journal store: facts of one or more devices, and session traces, in one WAL database.

Durability: the database runs in WAL mode with `synchronous=FULL` by default. WAL alone (even with
`synchronous=NORMAL`) already survives a killed process, because a commit has been written to the WAL
file through the OS before `commit()` returns and the OS keeps it when the process dies. FULL also
fsyncs the WAL at every commit, so a committed fact survives a power cut or kernel crash as well: a
fact is coupled to a send a peer has already received, and losing it would leave this journal
disagreeing with what peers saw. `synchronous="NORMAL"` trades that last guarantee for speed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from aura_choreo.journal.facts import Fact, FactId

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
"""


class JournalStore:
    """Facts per owning device and trace events per session, in SQLite.

    `path` is a file (parent folders are created) or `":memory:"`.
    """

    def __init__(self, path: str | Path = DEFAULT_JOURNAL_PATH, *, synchronous: Synchronous = "FULL") -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, got {synchronous!r}")
        self.path = str(path)
        if self.path != MEMORY:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: every write below opens and commits its own explicit transaction.
        self._db = sqlite3.connect(self.path, isolation_level=None)
        if self.path != MEMORY:
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OSError(f"journal {self.path}: SQLite refused WAL mode (got {mode})")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def settings(self) -> dict[str, str]:
        """The connection's durability settings as SQLite reports them (`journal_mode`, `synchronous`)."""
        mode = str(self._db.execute("PRAGMA journal_mode").fetchone()[0]).upper()
        level = int(self._db.execute("PRAGMA synchronous").fetchone()[0])
        return {"journal_mode": mode, "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[level]}

    def __enter__(self) -> JournalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append_facts(self, owner: str, facts: Sequence[Fact]) -> int:
        """Write facts to `owner`'s journal in one transaction; facts already there are skipped."""
        if not facts:
            return 0
        rows = [
            (
                owner,
                f.id.device,
                f.id.counter,
                f.name,
                f.protocol,
                f.session,
                f.role,
                f.label,
                f.lamport,
                json.dumps(dict(f.data), sort_keys=True),
            )
            for f in facts
        ]
        with self._transaction():
            before = self._db.total_changes
            self._db.executemany("INSERT OR IGNORE INTO facts VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
            return self._db.total_changes - before

    def load_facts(self, owner: str) -> list[Fact]:
        """Every fact in `owner`'s journal, ordered by (device, counter)."""
        rows = self._db.execute(
            "SELECT device, counter, name, protocol, session, role, label, lamport, data "
            "FROM facts WHERE owner = ? ORDER BY device, counter",
            (owner,),
        ).fetchall()
        return [
            Fact(FactId(d, c), name, protocol, session, role, label, lamport, json.loads(data))
            for d, c, name, protocol, session, role, label, lamport, data in rows
        ]

    def owners(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT DISTINCT owner FROM facts ORDER BY owner")]

    def append_trace_events(
        self, session: str, protocol: str, events: Iterable[Mapping[str, object]]
    ) -> None:
        """Store a session's trace events (JSON objects) in order, in one transaction."""
        rows = [(session, protocol, json.dumps(dict(e), sort_keys=True, default=str)) for e in events]
        with self._transaction():
            self._db.executemany("INSERT INTO trace_events (session, protocol, event) VALUES (?,?,?)", rows)

    def trace_events(self, session: str) -> list[dict[str, object]]:
        """A session's stored trace events, in the order they were recorded."""
        rows = self._db.execute("SELECT event FROM trace_events WHERE session = ? ORDER BY id", (session,))
        return [json.loads(row[0]) for row in rows]

    def sessions(self) -> list[str]:
        rows = self._db.execute("SELECT session FROM trace_events GROUP BY session ORDER BY MIN(id)")
        return [row[0] for row in rows]

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
