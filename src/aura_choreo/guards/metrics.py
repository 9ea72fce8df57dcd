"""Guard-chain metrics: evaluation time per stage, charges, denials."""

from __future__ import annotations

from dataclasses import dataclass, field

from aura_choreo.guards.leakage import ZERO_LEAKAGE, LeakageVector

STAGES = ("capability", "flow", "leakage", "journal", "receipt")
"""The stages of the chain, in order (SPEC §5.3)."""


_INDEX = {stage: index for index, stage in enumerate(STAGES)}
_FLOW = _INDEX["flow"]

SAMPLE = 16
"""The fast paths (default profile, plain sends) read the clock around their stages at one send in
`SAMPLE` of each route (the 1st, 17th, 33rd, ...), counted for the sends since the one before: four
clock reads and their sums cost about a tenth of such a send. Their stage times are estimates; the
counters (sends, charges, evaluations) stay exact."""


@dataclass
class GuardMetrics:
    """Counters of one guard chain. Mutable on purpose: the chain owns it and only adds to it.

    Stage times are kept in a list indexed like `STAGES` (list slots are cheaper than string keys, and
    this runs at every send); `stage_seconds` and `stage_evaluations` give them by name."""

    _seconds: list[float] = field(default_factory=lambda: [0.0] * len(STAGES), repr=False)
    _evaluations: list[int] = field(default_factory=lambda: [0] * len(STAGES), repr=False)
    """Stage runs besides those of prepared sends (which `stage_evaluations` counts from the sends)."""
    denials: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    flow_charged: int = 0
    leakage_charged: LeakageVector = ZERO_LEAKAGE
    sends_prepared: int = 0
    counter_sends: int = 0
    """Of the prepared sends, those that only paid their flow counter (the default profile's fast path)."""
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
        """Seconds spent in each stage so far (on the fast paths, estimated from a sample of the sends:
        see `SAMPLE`)."""
        return dict(zip(STAGES, self._seconds, strict=True))

    @property
    def stage_evaluations(self) -> dict[str, int]:
        """How many times each stage ran so far: every prepared send ran the flow stage, every one but
        the counter-only ones ran all five (a stage with nothing to do counts as run)."""
        prepared, full = self.sends_prepared, self.sends_prepared - self.counter_sends
        return {
            stage: n + (prepared if index == _FLOW else full)
            for index, (stage, n) in enumerate(zip(STAGES, self._evaluations, strict=True))
        }

    def timed(self, stage: str, seconds: float) -> None:
        index = _INDEX[stage]
        self._seconds[index] += seconds
        self._evaluations[index] += 1

    def counter_timed(self, seconds: float, weight: int) -> None:
        """A sampled default-profile send's flow stage took `seconds`; it stands for `weight` sends."""
        self._seconds[_FLOW] += seconds * weight

    def plain_timed(self, t0: float, t1: float, t2: float, weight: int) -> None:
        """A sampled send of the plain path (`SendRoute.charge_plain`), standing for `weight` sends:
        capability from `t0` to `t1`, flow to `t2`; no leakage, no receipt, and its facts take their ids
        when it commits (no journal work before)."""
        seconds = self._seconds
        seconds[0] += (t1 - t0) * weight
        seconds[1] += (t2 - t1) * weight

    def stages_timed(self, t0: float, t1: float, t2: float, t3: float, t4: float, t5: float) -> None:
        """One send's stage boundaries (perf_counter readings around the `STAGES`): each stage's time.
        Unrolled: it runs at every send."""
        seconds = self._seconds
        seconds[0] += t1 - t0
        seconds[1] += t2 - t1
        seconds[2] += t3 - t2
        seconds[3] += t4 - t3
        seconds[4] += t5 - t4

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
