"""Guard profiles: what the guard chain enforces for one message, read from its annotations (SPEC §1.5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aura_choreo.errors import AuraChoreoError
from aura_choreo.guards.leakage import ZERO_LEAKAGE, LeakageVector
from aura_choreo.projection.local_types import AnnotationMap
from aura_choreo.syntax.ast import AnnotationValue

ANNOTATED_DEFAULT_COST = 100
"""Flow cost of a send whose sender carries annotations but no `flow_cost` (SPEC §1.5)."""

UNANNOTATED_DEFAULT_COST = 1
"""Flow cost of the default profile, used for messages with no annotation at all."""


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


def parse_name_list(text: str) -> tuple[str, ...]:
    """Split a comma-separated list (`"a, b,c"`), dropping blanks and repeats, keeping order."""
    names: list[str] = []
    for part in text.split(","):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _key(key: str) -> str:
    # The rumpsteak spelling `@flow_cost` means the same as `flow_cost`.
    return key.lstrip("@")


def _int(key: str, value: AnnotationValue) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GuardConfigError(f"annotation `{key}` must be an integer, got {value!r}")
    if value < 0:
        raise GuardConfigError(f"annotation `{key}` must be non-negative, got {value}")
    return value


def _names(key: str, value: AnnotationValue) -> tuple[str, ...]:
    if isinstance(value, str):
        return parse_name_list(value)
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return parse_name_list(",".join(str(v) for v in value))
    raise GuardConfigError(f"annotation `{key}` must be a comma-separated string, got {value!r}")


def _leakage(key: str, value: AnnotationValue) -> LeakageVector:
    if isinstance(value, tuple) and len(value) == 3:
        external, neighbor, group = (_int(key, v) for v in value)
        return LeakageVector(external, neighbor, group)
    raise GuardConfigError(f"annotation `{key}` must be three integers [external, neighbor, group]")


def _bool(key: str, value: AnnotationValue) -> bool:
    if not isinstance(value, bool):
        raise GuardConfigError(f"annotation `{key}` must be true or false, got {value!r}")
    return value


def profile_from_annotations(annotations: AnnotationMap | Mapping[str, AnnotationValue]) -> GuardProfile:
    """The guard profile of a send from its sender's annotations.

    No annotation at all gives `DEFAULT_PROFILE` (cost 1); any annotation without `flow_cost` gives
    cost 100. Keys other than the guard keys are metadata and ignored here.
    """
    pairs = list(annotations.items()) if isinstance(annotations, Mapping) else list(annotations)
    if not pairs:
        return DEFAULT_PROFILE
    values = {_key(k): v for k, v in pairs}
    cost = ANNOTATED_DEFAULT_COST
    if "flow_cost" in values:
        cost = _int("flow_cost", values["flow_cost"])
    return GuardProfile(
        capabilities=_names("guard_capability", values["guard_capability"])
        if "guard_capability" in values
        else (),
        flow_cost=cost,
        leakage=_leakage("leakage_budget", values["leakage_budget"])
        if "leakage_budget" in values
        else ZERO_LEAKAGE,
        journal_facts=_names("journal_facts", values["journal_facts"]) if "journal_facts" in values else (),
        journal_merge=_bool("journal_merge", values["journal_merge"]) if "journal_merge" in values else False,
    )


class GuardProfiles:
    """Profiles registered per message label; a registered profile overrides the message's annotations."""

    def __init__(self, default: GuardProfile = DEFAULT_PROFILE) -> None:
        self.default = default
        self._by_label: dict[str, GuardProfile] = {}
        # Annotation maps are few and immutable: parse each once, not at every send.
        self._parsed: dict[AnnotationMap, GuardProfile] = {}

    def register_message_guard(self, label: str, profile: GuardProfile) -> None:
        """Guard every message labelled `label` with `profile`, whatever its annotations say."""
        self._by_label[label] = profile

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
