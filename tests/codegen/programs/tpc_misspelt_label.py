"""Wrong: the label is PrepareRequest."""

from __future__ import annotations

from two_phase_commit.coordinator import start_coordinator

from aura_choreo.runtime import Endpoint


async def coordinator(ep: Endpoint) -> None:
    prepare = start_coordinator(ep)
    await prepare.send_PrepareRequst(transaction_id=1)  # mypy: error
