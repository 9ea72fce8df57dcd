"""Correct role code against the generated API of a family protocol (tests/codegen/poll.choreo)."""

from __future__ import annotations

from typing import assert_never

from poll.leader import S4, S5, S6, S7, S8, S9, S10, start_leader
from poll.voter import start_voter

from aura_choreo.runtime import Endpoint


async def leader(ep: Endpoint) -> int:
    ask = start_leader(ep)
    ask1 = await ask.send_Question(text="lunch?")
    ask2 = await ask1.send_Question(text="lunch?")
    gather = await ask2.send_Question(text="lunch?")
    votes: list[bool] = []

    async def voter0(state: S5) -> S6:
        answer, end = await state.recv_Answer()
        votes.append(answer.yes)
        return end

    async def voter1(state: S7) -> S8:
        answer, end = await state.recv_Answer()
        votes.append(answer.yes)
        return end

    async def voter2(state: S9) -> S10:
        answer, end = await state.recv_Answer()
        votes.append(answer.yes)
        return end

    decide: S4 = await gather.par(voter0, voter1, voter2)
    if sum(votes) >= 2:
        tell = await decide.choose_accept()
        tell1 = await tell.send_Accepted(round=1)
        tell2 = await tell1.send_Accepted(round=1)
        await tell2.send_Accepted(round=1)
    else:
        told = await decide.choose_reject()
        told1 = await told.send_Rejected()
        told2 = await told1.send_Rejected()
        await told2.send_Rejected()
    return sum(votes)


async def voter(ep: Endpoint, index: int, yes: bool = True) -> str:
    ask = start_voter(ep, index)
    question, answer = await ask.recv_Question()
    outcome = await answer.send_Answer(yes=yes and question.text.endswith("?"))
    branch = await outcome.offer()
    if branch.label == "Accepted":
        return f"accepted in round {branch.message.round}"
    if branch.label == "Rejected":
        return "rejected"
    assert_never(branch)
