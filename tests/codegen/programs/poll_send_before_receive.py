"""Wrong: a voter answers before the question arrives."""

from __future__ import annotations

from poll.voter import start_voter

from aura_choreo.runtime import Endpoint


async def voter(ep: Endpoint, index: int) -> None:
    ask = start_voter(ep, index)
    await ask.send_Answer(yes=True)  # mypy: error
