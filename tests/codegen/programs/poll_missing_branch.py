"""Wrong: a voter that forgets the Rejected branch of the leader's offer."""

from __future__ import annotations

from typing import assert_never

from poll.voter import start_voter

from aura_choreo.runtime import Endpoint


async def voter(ep: Endpoint, index: int) -> None:
    ask = start_voter(ep, index)
    _, answer = await ask.recv_Question()
    outcome = await answer.send_Answer(yes=True)
    branch = await outcome.offer()
    if branch.label == "Accepted":
        return
    assert_never(branch)  # mypy: error
