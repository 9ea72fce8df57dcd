"""Guard profiles from annotations: default costs, comma-separated lists, label overrides."""

from __future__ import annotations

import pytest

from aura_choreo.guards import GuardConfigError, GuardProfile, LeakageVector, profile_from_annotations
from aura_choreo.guards.capabilities import parse_capabilities
from aura_choreo.guards.profile import DEFAULT_PROFILE, GuardProfiles


def test_unannotated_message_costs_one() -> None:
    assert profile_from_annotations(()) == DEFAULT_PROFILE
    assert DEFAULT_PROFILE.flow_cost == 1


def test_annotated_message_without_flow_cost_costs_100() -> None:
    profile = profile_from_annotations((("guard_capability", "send_data"),))
    assert profile.flow_cost == 100
    assert profile.capabilities == ("send_data",)


def test_metadata_annotation_alone_also_gives_default_cost_100() -> None:
    assert profile_from_annotations((("priority", "high"),)).flow_cost == 100


def test_explicit_flow_cost_wins() -> None:
    assert profile_from_annotations((("flow_cost", 500),)).flow_cost == 500
    assert profile_from_annotations((("@flow_cost", 7),)).flow_cost == 7


def test_capability_list_is_split_and_trimmed_with_all_of_semantics() -> None:
    assert parse_capabilities("admin_access,modify_permissions, audit_logs") == (
        "admin_access",
        "modify_permissions",
        "audit_logs",
    )
    assert parse_capabilities("  a ,, b , a ") == ("a", "b")
    assert parse_capabilities("") == ()


def test_every_guard_key_is_read() -> None:
    profile = profile_from_annotations(
        (
            ("guard_capability", "x, y"),
            ("flow_cost", 50),
            ("leakage_budget", (0, 1, 2)),
            ("journal_facts", "a,b"),
            ("journal_merge", True),
        )
    )
    assert profile == GuardProfile(("x", "y"), 50, LeakageVector(0, 1, 2), ("a", "b"), True)


@pytest.mark.parametrize(
    "annotations",
    [
        (("flow_cost", "lots"),),
        (("flow_cost", -1),),
        (("flow_cost", True),),
        (("leakage_budget", (1, 2)),),
        (("journal_merge", "yes"),),
        (("guard_capability", 3),),
    ],
)
def test_bad_annotation_values_are_config_errors(annotations: tuple[tuple[str, object], ...]) -> None:
    with pytest.raises(GuardConfigError):
        profile_from_annotations(annotations)  # type: ignore[arg-type]


def test_registered_profile_overrides_annotations() -> None:
    profiles = GuardProfiles()
    override = GuardProfile(flow_cost=3)
    profiles.register_message_guard("Ping", override)
    assert profiles.profile_for("Ping", (("flow_cost", 900),)) == override
    assert profiles.profile_for("Pong", (("flow_cost", 900),)).flow_cost == 900
    assert profiles.profile_for("Pong", ()) == DEFAULT_PROFILE


def test_default_profile_is_configurable() -> None:
    profiles = GuardProfiles(default=GuardProfile(flow_cost=2))
    assert profiles.profile_for("Anything", ()).flow_cost == 2
