"""Wrong: nothing may follow the end of the role."""

from __future__ import annotations

from two_phase_commit.participant import start_participant

from aura_choreo.runtime import Endpoint


async def participant(ep: Endpoint) -> None:
    start = start_participant(ep)
    _, answer = await start.recv_PrepareRequest()
    decide = await answer.send_PrepareResponse(vote="Abort")
    branch = await decide.branch()
    if branch.label == "Abort":
        _, ack = await branch.state.recv_AbortRequest()
        end = await ack.send_AbortAck()
        await end.send_AbortAck()  # mypy: error
