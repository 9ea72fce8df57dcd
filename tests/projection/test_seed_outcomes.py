"""The outcome of every seed example: projects for every role, or fails with E020 naming the callee."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aura_choreo import ChoreographyError, load_all
from aura_choreo.projection.render_text import render_text
from conftest import SEED_CORPUS, seed_files

# file -> None (projects for every role) or the sub-protocols it calls without defining (E020).
SEED_OUTCOMES: dict[str, tuple[str, ...] | None] = {
    "000_AdminOperations.choreo": None,
    "000_DistributedBroadcast.choreo": None,
    "000_HierarchicalConsensus.choreo": None,
    "000_PrivateMessaging.choreo": None,
    "000_RingConsensus.choreo": None,
    "000_ThresholdCoordination.choreo": None,
    "001_AdminOperations.choreo": None,
    "001_AdvancedTypes.choreo": None,
    "001_AuditableProtocol.choreo": None,
    "001_BudgetedProtocol.choreo": None,
    "001_ComprehensiveProtocol.choreo": None,
    "001_ConditionalProtocol.choreo": None,
    "001_ConsensusProtocol.choreo": None,
    "001_ConsensusProtocol_2.choreo": None,
    "001_DecisionLoop.choreo": None,
    "001_HierarchicalConsensus.choreo": None,
    "001_LoopProtocol.choreo": None,
    "001_Negotiation.choreo": None,
    "001_SecureProtocol.choreo": None,
    "001_StaticWorkers.choreo": None,
    "001_ThresholdProtocol.choreo": None,
    "001_TypedMessages.choreo": None,
    "001_UserRegistration.choreo": None,
    "002_DeviceOnboarding.choreo": None,
    "002_ResilientDataSync.choreo": None,
    "002_SimpleRequestResponse.choreo": None,
    "002_ThresholdApproval.choreo": None,
    "003_AdaptiveSync.choreo": ("FullSynchronization", "DeltaSynchronization", "Acknowledgment"),
    "003_CompensatingTransaction.choreo": None,
    "003_DataStreaming.choreo": None,
    "003_DistributedAuction.choreo": None,
    "003_DistributedConsensus.choreo": None,
    "003_HierarchicalConsensus.choreo": ("Consensus",),
    "003_RobustRequest.choreo": None,
    "003_SecureDataTransfer.choreo": ("Authentication", "KeyExchange", "DataTransfer"),
    "003_TwoPhaseCommit.choreo": None,
}


def test_the_table_covers_every_seed() -> None:
    assert sorted(SEED_OUTCOMES) == [p.name for p in seed_files()]


@pytest.mark.parametrize("name", sorted(SEED_OUTCOMES))
def test_seed_outcome(name: str) -> None:
    path = Path(SEED_CORPUS) / name
    missing = SEED_OUTCOMES[name]
    if missing is None:
        protocols = load_all(path)
        assert protocols
        for protocol in protocols.values():
            types = protocol.local_types()
            assert list(types) == list(protocol.roles)
            assert all(t.role == role for role, t in types.items())
            assert any(t.steps for t in types.values())
        return
    with pytest.raises(ChoreographyError) as caught:
        load_all(path)
    e020 = [d for d in caught.value.diagnostics if d.code == "E020"]
    assert {d.message for d in e020} == {f"undefined sub-protocol `{m}`" for m in missing}


PROJECTABLE_SEEDS = sorted(name for name, missing in SEED_OUTCOMES.items() if missing is None)


@pytest.mark.parametrize("name", PROJECTABLE_SEEDS)
def test_seed_projection_golden(name: str, golden: Callable[[str, str], None]) -> None:
    protocols = load_all(Path(SEED_CORPUS) / name)
    text = "".join(render_text(t) for p in protocols.values() for t in p.local_types().values())
    golden(f"seeds/{name.removesuffix('.choreo')}.txt", text)
