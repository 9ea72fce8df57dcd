"""Wrong: the Coordinator decides without receiving the vote."""

from __future__ import annotations

from two_phase_commit.coordinator import start_coordinator

from aura_choreo.runtime import Endpoint


async def coordinator(ep: Endpoint) -> None:
    prepare = start_coordinator(ep)
    await_vote = await prepare.send_PrepareRequest(transaction_id=1)
    await await_vote.branch()  # mypy: error
