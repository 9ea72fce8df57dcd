"""Differential check: in-memory and fault-free simulated runs both satisfy check_trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_choreo import load_all
from aura_choreo.testing.differential import differential_check
from conftest import seed_files

UNDEFINED_SUBPROTOCOLS = {"003_AdaptiveSync", "003_HierarchicalConsensus", "003_SecureDataTransfer"}
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES = [
    *[p for p in seed_files() if p.stem not in UNDEFINED_SUBPROTOCOLS],
    EXAMPLES / "two_phase_commit.choreo",
]


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_in_memory_and_simulated_traces_both_follow_the_protocol(path: Path) -> None:
    for protocol in load_all(path).values():
        for seed in (0, 1):
            result = differential_check(protocol, seed=seed)
            assert result.ok, result.explain()
            assert result.same_steps, (
                f"{protocol.qualified_name} seed {seed}: the two modes did different steps"
            )


def test_a_broken_behaviour_shows_up_in_both_modes() -> None:
    (protocol,) = load_all(EXAMPLES / "two_phase_commit.choreo").values()

    class Liar:
        def PrepareRequest(self, env: object) -> object:
            return {"transaction_id": "not a number"}

    result = differential_check(protocol, seed=0, roles={"Coordinator": Liar()})
    assert not result.ok
    assert result.in_memory_failure is not None and result.simulated_failure is not None
    assert result.in_memory_failure.error == result.simulated_failure.error
    assert "in memory:" in result.explain() and "simulated:" in result.explain()
