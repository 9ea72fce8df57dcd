"""Wrong: the Participant answers before it has received the prepare request."""

from __future__ import annotations

from two_phase_commit.participant import start_participant

from aura_choreo.runtime import Endpoint


async def participant(ep: Endpoint) -> None:
    start = start_participant(ep)
    await start.send_PrepareResponse(vote="Commit")  # mypy: error
