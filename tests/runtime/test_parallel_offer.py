"""An offer inside a parallel block takes only its choice's labels: a message on the same channel
that another branch receives is left for that branch (it was taken as the offer's answer, so the
other branch waited for it forever and the session ended in a PeerTimeout)."""

from __future__ import annotations

from typing import Any

import pytest

from aura_choreo.protocol import choreography
from aura_choreo.testing.simulation import simulate

PAR_OFFER = choreography(
    """
    choreography ParOffer {
        roles: A, B, C;
        parallel {
            choice C { again: { C -> B: Again; } done: { C -> B: Done; } }
        |
            C -> A: Hello;
            C -> B: Value(v: u64);
        }
        C -> B: Last;
    }
    """
)


async def _value_first(ep: Any) -> None:
    """C sends the other branch's message before the one that decides the choice."""
    await ep.send("A", "Hello")
    await ep.send("B", {"v": 7}, label="Value")
    await ep.choose("done")
    await ep.send("B", "Done")
    await ep.send("B", "Last")


@pytest.mark.parametrize("seed", range(5))
def test_an_offer_in_a_parallel_block_leaves_the_other_branch_its_message(seed: int) -> None:
    report = simulate(PAR_OFFER, seed=seed, roles={"C": _value_first})
    assert report.ok, report.summary()
    received = [e.label for e in report.runs[0].trace.events if e.kind == "recv" and e.role == "B"]
    assert sorted(received[:2]) == ["Done", "Value"] and received[2:] == ["Last"]
