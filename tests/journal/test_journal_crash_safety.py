"""Crash safety: SIGKILL a process mid-run; every fact of an accepted send is in the journal, none of a
refused one."""

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


def test_sigkill_loses_no_committed_fact_and_keeps_no_refused_one(tmp_path: Path) -> None:
    db = tmp_path / ".aura" / "journal.db"
    child = subprocess.Popen(
        [sys.executable, str(WRITER), str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    lines: list[str] = []
    accepted = 0
    deadline = time.monotonic() + 60
    try:
        while accepted < ACCEPTED_BEFORE_KILL and time.monotonic() < deadline:
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
    lines += [line + "\n" for line in rest.split("\n")[:-1]]
    accepted_names = {line.split()[3] for line in lines if line.startswith("ACCEPTED")}
    refused_names = {f"fact{line.split()[1]}" for line in lines if line.startswith("REFUSED")}
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
