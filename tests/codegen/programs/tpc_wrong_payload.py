"""Wrong: a transaction id is an integer (u64), not a string."""

from __future__ import annotations

from two_phase_commit.coordinator import start_coordinator

from aura_choreo.runtime import Endpoint


async def coordinator(ep: Endpoint) -> None:
    prepare = start_coordinator(ep)
    await prepare.send_PrepareRequest(transaction_id="tx-1")  # mypy: error
