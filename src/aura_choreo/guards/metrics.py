"""Guard-chain metrics: evaluation time per stage, charges, denials."""

from __future__ import annotations

from dataclasses import dataclass, field

from aura_choreo.guards.leakage import ZERO_LEAKAGE, LeakageVector

STAGES = ("capability", "flow", "leakage", "journal", "receipt")
"""The stages of the chain, in order (SPEC §5.3)."""


_INDEX = {stage: index for index, stage in enumerate(STAGES)}
_FLOW = _INDEX["flow"]


@dataclass
class GuardMetrics:
    """Counters of one guard chain. Mutable on purpose: the chain owns it and only adds to it.

    Stage times are kept in a list indexed like `STAGES` (a prepared send adds to all five: list slots
    are cheaper than string keys, and this runs at every send); `stage_seconds` and
    `stage_evaluations` give them by name."""

    _seconds: list[float] = field(default_factory=lambda: [0.0] * len(STAGES), repr=False)
    _evaluations: list[int] = field(default_factory=lambda: [0] * len(STAGES), repr=False)
    _prepared_evaluations: int = field(default=0, repr=False)
    """Sends timed through every stage at once (`stages_timed`)."""
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

    @property
    def stage_seconds(self) -> dict[str, float]:
        """Seconds spent in each stage so far."""
        return dict(zip(STAGES, self._seconds, strict=True))

    @property
    def stage_evaluations(self) -> dict[str, int]:
        """How many times each stage ran so far."""
        everyone = self._prepared_evaluations
        return {stage: n + everyone for stage, n in zip(STAGES, self._evaluations, strict=True)}

    def timed(self, stage: str, seconds: float) -> None:
        index = _INDEX[stage]
        self._seconds[index] += seconds
        self._evaluations[index] += 1

    def counter_paid(self, seconds: float, cost: int) -> None:
        """A default-profile send paid `cost` (its only stage, flow, took `seconds`)."""
        self._seconds[_FLOW] += seconds
        self._evaluations[_FLOW] += 1
        self.flow_charged += cost
        self.sends_prepared += 1

    def stages_timed(self, t0: float, t1: float, t2: float, t3: float, t4: float, t5: float) -> None:
        """One send's stage boundaries (perf_counter readings around the `STAGES`): each stage's time.
        Unrolled: it runs at every send."""
        seconds = self._seconds
        seconds[0] += t1 - t0
        seconds[1] += t2 - t1
        seconds[2] += t3 - t2
        seconds[3] += t4 - t3
        seconds[4] += t5 - t4
        self._prepared_evaluations += 1

    def plain_prepared(self, t0: float, t1: float, t2: float, t3: float, cost: int) -> None:
        """A send prepared on the plain path (`SendRoute.prepare_plain`): capability from `t0` to `t1`,
        flow to `t2`, journal to `t3`; no leakage, no receipt. It paid `cost`."""
        seconds = self._seconds
        seconds[0] += t1 - t0
        seconds[1] += t2 - t1
        seconds[3] += t3 - t2
        self._prepared_evaluations += 1
        self.flow_charged += cost
        self.sends_prepared += 1

    def denied(self, stage: str) -> None:
        self.denials[stage] += 1

    def to_json(self) -> dict[str, object]:
        return {
            "stage_seconds": self.stage_seconds,
            "stage_evaluations": self.stage_evaluations,
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
