"""Guard-chain metrics: evaluation time per stage, charges, denials."""

from __future__ import annotations

from dataclasses import dataclass, field

from aura_choreo.guards.leakage import ZERO_LEAKAGE, LeakageVector

STAGES = ("capability", "flow", "leakage", "journal", "receipt")
"""The stages of the chain, in order (SPEC §5.3)."""


@dataclass
class GuardMetrics:
    """Counters of one guard chain. Mutable on purpose: the chain owns it and only adds to it."""

    stage_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    stage_evaluations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    denials: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    flow_charged: int = 0
    leakage_charged: LeakageVector = ZERO_LEAKAGE
    sends_prepared: int = 0
    sends_committed: int = 0
    sends_aborted: int = 0
    sends_refused: int = 0
    """Sends the transport refused at least once (a retry may still commit them)."""
    facts_committed: int = 0
    facts_merged: int = 0
    receipts_issued: int = 0
    receipts_verified: int = 0
    receipts_rejected: int = 0

    def timed(self, stage: str, seconds: float) -> None:
        self.stage_seconds[stage] += seconds
        self.stage_evaluations[stage] += 1

    def stages_timed(self, t0: float, t1: float, t2: float, t3: float, t4: float, t5: float) -> None:
        """One send's stage boundaries (perf_counter readings around the `STAGES`): each stage's time.
        Unrolled: it runs at every send."""
        seconds, evaluations = self.stage_seconds, self.stage_evaluations
        seconds["capability"] += t1 - t0
        seconds["flow"] += t2 - t1
        seconds["leakage"] += t3 - t2
        seconds["journal"] += t4 - t3
        seconds["receipt"] += t5 - t4
        evaluations["capability"] += 1
        evaluations["flow"] += 1
        evaluations["leakage"] += 1
        evaluations["journal"] += 1
        evaluations["receipt"] += 1

    def denied(self, stage: str) -> None:
        self.denials[stage] += 1

    def to_json(self) -> dict[str, object]:
        return {
            "stage_seconds": dict(self.stage_seconds),
            "stage_evaluations": dict(self.stage_evaluations),
            "denials": dict(self.denials),
            "flow_charged": self.flow_charged,
            "leakage_charged": self.leakage_charged.as_list(),
            "sends_prepared": self.sends_prepared,
            "sends_committed": self.sends_committed,
            "sends_aborted": self.sends_aborted,
            "sends_refused": self.sends_refused,
            "facts_committed": self.facts_committed,
            "facts_merged": self.facts_merged,
            "receipts_issued": self.receipts_issued,
            "receipts_verified": self.receipts_verified,
            "receipts_rejected": self.receipts_rejected,
        }
