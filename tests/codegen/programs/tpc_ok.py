"""Correct role code against the generated two_phase_commit API: mypy accepts it, and it runs."""

from __future__ import annotations

from typing import assert_never

from two_phase_commit.coordinator import start_coordinator
from two_phase_commit.participant import start_participant

from aura_choreo.runtime import Endpoint


async def coordinator(ep: Endpoint, transaction_id: int = 7) -> str:
    prepare = start_coordinator(ep)
    await_vote = await prepare.send_PrepareRequest(transaction_id=transaction_id)
    _, decide = await await_vote.recv_PrepareResponse()
    branch = await decide.branch()
    if branch.label == "Commit":
        ack = await branch.state.send_CommitRequest(transaction_id=transaction_id)
        await ack.recv_CommitAck()
        return "committed"
    if branch.label == "Abort":
        ack2 = await branch.state.send_AbortRequest(transaction_id=transaction_id)
        await ack2.recv_AbortAck()
        return "aborted"
    assert_never(branch)


async def participant(ep: Endpoint, vote: str = "Commit") -> int:
    start = start_participant(ep)
    request, answer = await start.recv_PrepareRequest()
    decide = await answer.send_PrepareResponse(vote=vote)
    match await decide.branch():
        case branch if branch.label == "Commit":
            _, ack = await branch.state.recv_CommitRequest()
            await ack.send_CommitAck()
        case branch if branch.label == "Abort":
            _, ack2 = await branch.state.recv_AbortRequest()
            await ack2.send_AbortAck()
        case _:
            pass
    return request.transaction_id
