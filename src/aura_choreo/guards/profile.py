"""Guard profiles: what the guard chain enforces for one message, read from its annotations (SPEC §1.5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aura_choreo.errors import AuraChoreoError
from aura_choreo.guards.leakage import ZERO_LEAKAGE, LeakageVector
from aura_choreo.projection.local_types import AnnotationMap
from aura_choreo.syntax.ast import AnnotationValue

# The rules (defaults, value types, name lists) are `syntax.guard_annotations`', shared with the
# annotation checks and the verifier's budgets; re-exported here for the guard chain's users.
from aura_choreo.syntax.guard_annotations import ANNOTATED_DEFAULT_COST as ANNOTATED_DEFAULT_COST
from aura_choreo.syntax.guard_annotations import (
    NO_GUARD_ANNOTATIONS,
    GuardAnnotationError,
    read_guard_annotations,
)
from aura_choreo.syntax.guard_annotations import UNANNOTATED_DEFAULT_COST as UNANNOTATED_DEFAULT_COST
from aura_choreo.syntax.guard_annotations import parse_name_list as parse_name_list


class GuardConfigError(AuraChoreoError):
    """An annotation or policy value the guard chain cannot use."""


@dataclass(frozen=True)
class GuardProfile:
    """Everything the chain needs to guard one send."""

    capabilities: tuple[str, ...] = ()
    flow_cost: int = UNANNOTATED_DEFAULT_COST
    leakage: LeakageVector = ZERO_LEAKAGE
    journal_facts: tuple[str, ...] = ()
    journal_merge: bool = False

    def __post_init__(self) -> None:
        if self.flow_cost < 0:
            raise GuardConfigError(f"flow cost must be non-negative, got {self.flow_cost}")


DEFAULT_PROFILE = GuardProfile()
"""The profile of a message with no annotation: cost 1, nothing else."""


@dataclass(frozen=True)
class GuardPlan:
    """What the chain has to do for one message label (with its annotations), decided once.

    A stage with nothing to do is skipped rather than run on empty input: no capability to check, a
    leakage of zero (a charge of nothing cannot exceed a budget), no fact to reserve, no delta to
    piggyback. `counter_only` is the default profile's fast path: the send only pays its flow cost.
    """

    profile: GuardProfile
    check_capabilities: bool
    charge_leakage: bool
    write_facts: bool
    merge_journal: bool

    @classmethod
    def of(cls, profile: GuardProfile) -> GuardPlan:
        return cls(
            profile,
            bool(profile.capabilities),
            not profile.leakage.is_zero(),
            bool(profile.journal_facts),
            profile.journal_merge,
        )

    @property
    def counter_only(self) -> bool:
        return not (self.check_capabilities or self.charge_leakage or self.write_facts or self.merge_journal)


def profile_from_annotations(annotations: AnnotationMap | Mapping[str, AnnotationValue]) -> GuardProfile:
    """The guard profile of a send from its sender's annotations (`syntax.guard_annotations` reads them).

    No annotation at all gives `DEFAULT_PROFILE` (cost 1); any annotation without `flow_cost` gives
    cost 100. Keys other than the guard keys are metadata and ignored here.
    """
    try:
        read = read_guard_annotations(annotations)
    except GuardAnnotationError as exc:
        raise GuardConfigError(str(exc)) from None
    if read is NO_GUARD_ANNOTATIONS:
        return DEFAULT_PROFILE
    leakage = LeakageVector(*read.leakage)
    return GuardProfile(read.capabilities, read.flow_cost, leakage, read.journal_facts, read.journal_merge)


class GuardProfiles:
    """Profiles registered per message label; a registered profile overrides the message's annotations."""

    def __init__(self, default: GuardProfile = DEFAULT_PROFILE) -> None:
        self.default = default
        self._by_label: dict[str, GuardProfile] = {}
        # Annotation maps are few and immutable: parse each once, not at every send.
        self._parsed: dict[AnnotationMap, GuardProfile] = {}
        self._plans: dict[tuple[str, AnnotationMap], GuardPlan] = {}

    def register_message_guard(self, label: str, profile: GuardProfile) -> None:
        """Guard every message labelled `label` with `profile`, whatever its annotations say."""
        self._by_label[label] = profile
        self._plans.clear()

    def registered(self) -> Mapping[str, GuardProfile]:
        return dict(self._by_label)

    def profile_for(self, label: str, annotations: AnnotationMap) -> GuardProfile:
        """The registered profile for `label`, else the annotations' profile, else the default."""
        if label in self._by_label:
            return self._by_label[label]
        if not annotations:
            return self.default
        profile = self._parsed.get(annotations)
        if profile is None:
            profile = self._parsed[annotations] = profile_from_annotations(annotations)
        return profile

    def plan_for(self, label: str, annotations: AnnotationMap) -> GuardPlan:
        """The guard plan of `profile_for(label, annotations)`, computed once per distinct pair."""
        key = (label, annotations)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = GuardPlan.of(self.profile_for(label, annotations))
        return plan
