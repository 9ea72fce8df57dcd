"""Two phases, two sessions: a recovery that needs an approval committed by an earlier session.

    python examples/two_phase_recovery.py

Both phases run in testing mode (`build_stack(..., "testing")`) under one policy whose journal is a
SQLite file, as two devices' processes would share it across restarts: the approval session commits
`recovery_approved` into the custodian's journal, and the recovery session's `if` reads it through
`journal_facts`. Run the recovery alone (a fresh journal) and the custodian refuses.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from aura_choreo.execution import build_stack
from aura_choreo.guards import parse_policy
from aura_choreo.protocol import load_all

HERE = Path(__file__).resolve().parent


async def phases(journal: str, *, approve: bool) -> str:
    """Run the approval (if `approve`), then the recovery; the label the custodian answered with."""
    protocols = load_all(HERE / "two_phase_recovery.choreo")
    policy = parse_policy({"journal": journal, "signing": True})
    if approve:
        await build_stack(protocols["examples.Approval"], policy, "testing").run_session()
    recovery = build_stack(protocols["examples.Recovery"], policy, "testing")
    session = recovery.session()
    from aura_choreo.runtime.runner import run_session

    await run_session(session, recovery.transport())
    return next(e.label for e in session.trace.events if e.kind == "send" and e.sender == "Custodian")


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        approved = asyncio.run(phases(str(Path(folder) / "journal.db"), approve=True))
    with tempfile.TemporaryDirectory() as folder:
        alone = asyncio.run(phases(str(Path(folder) / "journal.db"), approve=False))
    print(f"after an approval session: {approved}; without one: {alone}")
    return 0 if (approved, alone) == ("Restore", "Refuse") else 1


if __name__ == "__main__":
    sys.exit(main())
