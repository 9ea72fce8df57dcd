"""Issue 11 item 1: a retransmission due within 1 ns of now was skipped by the virtual-time loop.

The clock then leapt to the 30 s peer deadline and the run failed with a spurious `PeerTimeout`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_choreo.protocol import load_all
from aura_choreo.testing.fault_options import parse_delay
from aura_choreo.testing.simulation import SimulationConfig, simulate
from aura_choreo.transports.network import LinkModel, NetworkModel
from conftest import SEED_CORPUS

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"
AUCTION = SEED_CORPUS / "003_DistributedAuction.choreo"

# (file, seed that failed before the fix, drop, duplicate, delay) - the repro settings.
CASES = [
    pytest.param(TPC, 273, 0.1, 0.1, "1..20", id="two_phase_commit"),
    pytest.param(AUCTION, 958, 0.2, 0.05, "5", id="DistributedAuction"),
]


def _config(drop: float, dup: float, delay: str) -> SimulationConfig:
    link = LinkModel(latency=parse_delay(delay), drop=drop, duplicate=dup)
    return SimulationConfig(network=NetworkModel(link))


def _protocol(path: Path) -> object:
    (protocol,) = load_all(str(path)).values()
    return protocol


@pytest.mark.parametrize(("path", "seed", "drop", "dup", "delay"), CASES)
def test_the_seed_that_lost_a_retransmission_now_completes(
    path: Path, seed: int, drop: float, dup: float, delay: str
) -> None:
    report = simulate(_protocol(path), seed=seed, config=_config(drop, dup, delay), check=True)
    assert report.ok, report.summary()


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize(("path", "seed", "drop", "dup", "delay"), CASES)
def test_twenty_thousand_runs_at_the_repro_settings_all_complete(
    path: Path, seed: int, drop: float, dup: float, delay: str
) -> None:
    report = simulate(_protocol(path), seed=0, runs=20_000, config=_config(drop, dup, delay))
    assert report.failures == (), report.summary()
    assert len(report.runs) == 20_000
