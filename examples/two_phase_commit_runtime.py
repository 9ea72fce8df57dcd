"""Two-phase commit, run in memory: the Coordinator is written imperatively, the Participant is
behaviour-driven (the runtime walks its local type and asks the behaviour for each payload).

    .venv/bin/python examples/two_phase_commit_runtime.py

Every send and receive of both roles is checked against the projection of
`two_phase_commit.choreo` before it reaches the (in-memory) wire.
"""

from __future__ import annotations

import asyncio
import enum
from pathlib import Path

import aura_choreo
from aura_choreo.runtime import Endpoint, UserTypes, run_session
from aura_choreo.transports import InMemoryTransport

HERE = Path(__file__).parent


class Vote(enum.Enum):
    """The participant's vote; `match vote { Vote::Commit => ... }` matches on the member name."""

    Commit = "Commit"
    Abort = "Abort"


async def coordinator(ep: Endpoint, transaction_id: int) -> str:
    """The Coordinator, imperatively: each call is checked by the monitor."""
    await ep.send("Participant", ep.message("PrepareRequest", transaction_id=transaction_id))
    response = await ep.recv("Participant")
    if response.vote is Vote.Commit:
        await ep.send("Participant", ep.message("CommitRequest", transaction_id=transaction_id))
        await ep.recv("Participant")  # CommitAck
        return "committed"
    await ep.send("Participant", ep.message("AbortRequest", transaction_id=transaction_id))
    await ep.recv("Participant")  # AbortAck
    return "aborted"


class Participant:
    """The Participant's behaviour: one method per message it sends (named after the label)."""

    def __init__(self, has_room: bool) -> None:
        self.has_room = has_room

    def PrepareResponse(self, env: dict[str, object]) -> dict[str, Vote]:
        vote = Vote.Commit if self.has_room else Vote.Abort
        print(f"  participant votes {vote.name} on transaction {env['transaction_id']}")
        return {"vote": vote}

    def CommitAck(self, env: dict[str, object]) -> None:
        print(f"  participant commits transaction {env['transaction_id']}")

    def AbortAck(self, env: dict[str, object]) -> None:
        print(f"  participant rolls back transaction {env['transaction_id']}")


async def main() -> None:
    protocol = aura_choreo.load(HERE / "two_phase_commit.choreo")
    user_types = UserTypes()
    user_types.register(Vote)
    for transaction_id, has_room in ((1001, True), (1002, False)):
        print(f"transaction {transaction_id}:")
        session = protocol.session(user_types=user_types)
        results = await run_session(
            session,
            InMemoryTransport(),
            {
                "Coordinator": lambda ep, tx=transaction_id: coordinator(ep, tx),
                "Participant": Participant(has_room),
            },
        )
        print(f"  coordinator: {results['Coordinator']}")
        for event in session.trace.deliveries():
            print(f"    {event.sender} -> {event.receiver}: {event.label} (seq {event.seq})")


if __name__ == "__main__":
    asyncio.run(main())
