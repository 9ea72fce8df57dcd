"""The guard annotations of SPEC §1.5, in one place: what each key must hold and what it means.

`guard_capability`, `flow_cost`, `leakage_budget`, `journal_facts` and `journal_merge` on a sender.
The annotation checks (E060), the verifier's budgets and manifests, and the guard chain's profiles
all read a sender's annotations through `read_guard_annotations`, so one value means one thing to
each of them. It lives in syntax/, below all three.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aura_choreo.errors import AuraChoreoError
from aura_choreo.syntax.ast import AnnotationValue
from aura_choreo.syntax.payload import AnnotationMap

ANNOTATED_DEFAULT_COST = 100
"""Flow cost of a send whose sender carries annotations but no `flow_cost` (SPEC §1.5)."""

UNANNOTATED_DEFAULT_COST = 1
"""Flow cost of a send with no annotation at all (the default profile)."""


class GuardAnnotationError(AuraChoreoError):
    """A guard annotation value of the wrong type (E060 reports it in a .choreo file)."""


def parse_name_list(text: str) -> tuple[str, ...]:
    """Split a comma-separated list (`"a, b,c"`), dropping blanks and repeats, keeping order."""
    names: list[str] = []
    for part in text.split(","):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    return tuple(names)


def read_count(key: str, value: AnnotationValue) -> int:
    """A non-negative integer (`flow_cost`, each leakage component)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise GuardAnnotationError(f"annotation `{key}` must be an integer, got {value!r}")
    if value < 0:
        raise GuardAnnotationError(f"annotation `{key}` must be non-negative, got {value}")
    return value


def read_names(key: str, value: AnnotationValue) -> tuple[str, ...]:
    """Names as a comma-separated string (a policy file may also give a list of strings)."""
    if isinstance(value, str):
        return parse_name_list(value)
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return parse_name_list(",".join(str(v) for v in value))
    raise GuardAnnotationError(f"annotation `{key}` must be a comma-separated string, got {value!r}")


def read_leakage(key: str, value: AnnotationValue) -> tuple[int, int, int]:
    """`[external, neighbor, group]`: three non-negative integers."""
    if isinstance(value, tuple) and len(value) == 3:
        external, neighbor, group = (read_count(key, v) for v in value)
        return external, neighbor, group
    raise GuardAnnotationError(f"annotation `{key}` must be three integers [external, neighbor, group]")


def read_flag(key: str, value: AnnotationValue) -> bool:
    """`true` or `false`."""
    if not isinstance(value, bool):
        raise GuardAnnotationError(f"annotation `{key}` must be true or false, got {value!r}")
    return value


GUARD_KEYS: dict[str, tuple[Callable[[str, AnnotationValue], object], str]] = {
    "guard_capability": (read_names, 'a string of comma-separated capabilities, e.g. "read,write"'),
    "flow_cost": (read_count, "a non-negative integer"),
    "journal_facts": (read_names, 'a string of comma-separated fact names, e.g. "created,logged"'),
    "journal_merge": (read_flag, "`true` or `false`"),
    "leakage_budget": (read_leakage, "three non-negative integers `[external, neighbor, group]`"),
}
"""Each guard key: its reader (raises `GuardAnnotationError`) and what it expects, for messages."""


def is_valid_guard_value(key: str, value: AnnotationValue) -> bool:
    """Whether `value` is what guard key `key` must hold in a .choreo file (lists are policy-only)."""
    reader, _ = GUARD_KEYS[key]
    if reader is read_names and not isinstance(value, str):
        return False
    try:
        reader(key, value)
    except GuardAnnotationError:
        return False
    return True


@dataclass(frozen=True)
class GuardAnnotations:
    """What a sender's annotations ask of the guard chain for one send."""

    capabilities: tuple[str, ...] = ()
    flow_cost: int = UNANNOTATED_DEFAULT_COST
    leakage: tuple[int, int, int] = (0, 0, 0)
    journal_facts: tuple[str, ...] = ()
    journal_merge: bool = False


NO_GUARD_ANNOTATIONS = GuardAnnotations()


def read_guard_annotations(annotations: AnnotationMap | Mapping[str, AnnotationValue]) -> GuardAnnotations:
    """The guard meaning of a sender's annotations; raises `GuardAnnotationError` on a bad value.

    No annotation at all costs 1; any annotation without `flow_cost` costs 100. Keys other than the
    guard keys are metadata. The rumpsteak spelling `@flow_cost` means `flow_cost`.
    """
    pairs = list(annotations.items()) if isinstance(annotations, Mapping) else list(annotations)
    if not pairs:
        return NO_GUARD_ANNOTATIONS
    values = {k.lstrip("@"): v for k, v in pairs}

    get = values.get
    capabilities = get("guard_capability")
    cost = get("flow_cost")
    leakage = get("leakage_budget")
    facts = get("journal_facts")
    merge = get("journal_merge")
    return GuardAnnotations(
        capabilities=() if capabilities is None else read_names("guard_capability", capabilities),
        flow_cost=ANNOTATED_DEFAULT_COST if cost is None else read_count("flow_cost", cost),
        leakage=(0, 0, 0) if leakage is None else read_leakage("leakage_budget", leakage),
        journal_facts=() if facts is None else read_names("journal_facts", facts),
        journal_merge=False if merge is None else read_flag("journal_merge", merge),
    )
