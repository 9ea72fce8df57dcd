"""Wrong: the Abort arm of the vote is not handled, and `assert_never` says so."""

from __future__ import annotations

from typing import assert_never

from two_phase_commit.coordinator import start_coordinator

from aura_choreo.runtime import Endpoint


async def coordinator(ep: Endpoint) -> None:
    prepare = start_coordinator(ep)
    await_vote = await prepare.send_PrepareRequest(transaction_id=1)
    _, decide = await await_vote.recv_PrepareResponse()
    branch = await decide.branch()
    if branch.label == "Commit":
        ack = await branch.state.send_CommitRequest(transaction_id=1)
        await ack.recv_CommitAck()
    else:
        assert_never(branch)  # mypy: error
