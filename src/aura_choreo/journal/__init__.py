"""The fact journal (SPEC §5.4): a grow-only fact CRDT per device, persisted in SQLite (WAL)."""

from aura_choreo.journal.facts import Fact, FactId, FactLog, FactValue, VersionVector
from aura_choreo.journal.journal import Journal, PendingFacts, event_to_json
from aura_choreo.journal.signing import FactAuthors
from aura_choreo.journal.store import DEFAULT_JOURNAL_PATH, MEMORY, JournalStore

__all__ = [
    "DEFAULT_JOURNAL_PATH",
    "MEMORY",
    "Fact",
    "FactAuthors",
    "FactId",
    "FactLog",
    "FactValue",
    "Journal",
    "JournalStore",
    "PendingFacts",
    "VersionVector",
    "event_to_json",
]
