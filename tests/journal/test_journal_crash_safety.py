"""Crash safety: SIGKILL a process mid-run; every fact of an accepted send is in the journal, none of a
refused one: with one session, and with 16 concurrent sessions sharing group commits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from aura_choreo.journal import JournalStore

WRITER = Path(__file__).with_name("crash_writer.py")
ACCEPTED_BEFORE_KILL = 150


def run_until_killed(db: Path, sessions: int, accepted_before_kill: int) -> list[str]:
    """Start the writer, SIGKILL it once it reported `accepted_before_kill` acknowledged sends; its lines."""
    child = subprocess.Popen(
        [sys.executable, str(WRITER), str(db), str(sessions)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    accepted = 0
    deadline = time.monotonic() + 60
    try:
        while accepted < accepted_before_kill and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line)
            accepted += line.startswith("ACCEPTED")
        os.kill(child.pid, signal.SIGKILL)  # mid-run: the writer is still looping
    finally:
        child.wait(timeout=30)
    rest = child.stdout.read()
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    # Lines the child finished printing before it died; a torn last line says nothing.
    return lines + [line + "\n" for line in rest.split("\n")[:-1]]


def outcome(lines: list[str]) -> tuple[set[str], set[str]]:
    """The fact names of the acknowledged sends and of the refused ones."""
    accepted = {line.split()[3] for line in lines if line.startswith("ACCEPTED")}
    refused = {line.split()[2] for line in lines if line.startswith("REFUSED")}
    return accepted, refused


def test_sigkill_loses_no_committed_fact_and_keeps_no_refused_one(tmp_path: Path) -> None:
    db = tmp_path / ".aura" / "journal.db"
    accepted_names, refused_names = outcome(run_until_killed(db, 1, ACCEPTED_BEFORE_KILL))
    assert len(accepted_names) >= ACCEPTED_BEFORE_KILL
    assert refused_names

    with JournalStore(db) as store:
        stored = store.load_facts("writer")
    stored_names = {f.name for f in stored}
    assert accepted_names <= stored_names
    assert not refused_names & stored_names
    # At most the one send that was committed when the kill landed, before its line was printed.
    assert len(stored_names - accepted_names) <= 1
    # Ids stay dense: refused sends gave their counters back.
    assert [f.id.counter for f in stored] == list(range(1, len(stored) + 1))


def test_sigkill_under_group_commit_of_concurrent_sessions_loses_no_acknowledged_fact(tmp_path: Path) -> None:
    sessions = 16
    db = tmp_path / ".aura" / "journal.db"
    accepted_names, refused_names = outcome(run_until_killed(db, sessions, 2 * ACCEPTED_BEFORE_KILL))
    assert len(accepted_names) >= 2 * ACCEPTED_BEFORE_KILL
    assert refused_names
    assert len({name.split(".")[0] for name in accepted_names}) == sessions  # every session made progress

    with JournalStore(db) as store:
        stored = store.load_facts("writer")
        budgets = store.load_budgets("writer")
    stored_names = {f.name for f in stored}
    assert accepted_names <= stored_names
    assert not refused_names & stored_names
    # Unacknowledged but stored: at most the sends of the batches on their way when the kill landed
    # (each session has one send in flight at a time).
    assert len(stored_names - accepted_names) <= sessions
    assert len(stored) == len(stored_names)  # one fact per committed send, each stored once
    # The flow charges went into the same transactions as the facts: the stored budget covers them.
    assert budgets and budgets[0][3] >= len(stored)
