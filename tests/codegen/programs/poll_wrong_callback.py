"""Wrong: a par branch callback that stops before its end (it returns the state it was given)."""

from __future__ import annotations

from poll.leader import S5, S7, S9, S10, start_leader

from aura_choreo.runtime import Endpoint


async def leader(ep: Endpoint) -> None:
    ask = start_leader(ep)
    ask1 = await ask.send_Question(text="?")
    ask2 = await ask1.send_Question(text="?")
    gather = await ask2.send_Question(text="?")

    async def lazy(state: S5) -> S5:
        return state

    async def voter1(state: S7) -> S9:
        _, end = await state.recv_Answer()
        return end  # mypy: error

    async def voter2(state: S9) -> S10:
        _, end = await state.recv_Answer()
        return end

    await gather.par(lazy, voter1, voter2)  # mypy: error
