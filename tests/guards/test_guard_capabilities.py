"""Capabilities: all-of checks, layers, revocation, the manifest check."""

from __future__ import annotations

import pytest

from aura_choreo.errors import CapabilityDenied
from aura_choreo.guards.capabilities import (
    CapabilityPolicy,
    CapabilityRequest,
    ContextCapabilities,
    DeviceCapabilities,
    check_manifest,
)
from aura_choreo.projection.local_types import Branch, Choose, LocalType, Recv, Send
from aura_choreo.verify.budgets import role_manifest


def request(*required: str, device: str = "dev", context: str = "ctx") -> CapabilityRequest:
    return CapabilityRequest("Admin", device, context, required)


def test_device_holding_every_capability_is_allowed() -> None:
    policy = CapabilityPolicy((DeviceCapabilities({"dev": {"a", "b", "c"}}),))
    assert policy.first_missing(request("a", "b")) is None
    policy.check(request("a", "b"))


def test_all_of_semantics_names_the_first_missing_capability() -> None:
    policy = CapabilityPolicy((DeviceCapabilities({"dev": {"a", "c"}}),))
    with pytest.raises(CapabilityDenied) as denied:
        policy.check(request("a", "b", "c"), session="s1", step="Admin -> User: Grant")
    assert denied.value.role == "Admin"
    assert denied.value.capability == "b"
    assert denied.value.session == "s1"
    assert "missing capability `b`" in str(denied.value)


def test_unknown_device_holds_nothing() -> None:
    policy = CapabilityPolicy((DeviceCapabilities(),))
    assert policy.first_missing(request("a", device="ghost")) == ("device", "a")
    assert policy.first_missing(request(device="ghost")) is None


def test_revocation_takes_effect_on_the_next_check() -> None:
    held = DeviceCapabilities({"dev": {"a"}})
    policy = CapabilityPolicy((held,))
    policy.check(request("a"))
    held.revoke("dev", "a")
    with pytest.raises(CapabilityDenied):
        policy.check(request("a"))
    held.grant("dev", "a")
    policy.check(request("a"))


def test_any_layer_can_deny() -> None:
    held = DeviceCapabilities({"dev": {"a", "b"}})
    org = ContextCapabilities({"restricted": {"a"}}, name="org")
    policy = CapabilityPolicy((held, org))
    assert policy.first_missing(request("a", "b", context="open")) is None
    assert policy.first_missing(request("a", "b", context="restricted")) == ("org", "b")


def test_a_refining_layer_cannot_grant_what_the_device_lacks() -> None:
    policy = CapabilityPolicy((DeviceCapabilities({"dev": set()}), ContextCapabilities({"ctx": {"a"}})))
    assert policy.first_missing(request("a")) == ("device", "a")


def admin_type() -> LocalType:
    return LocalType(
        "p.P",
        "Admin",
        (
            Send("User", "Grant", annotations=(("guard_capability", "admin, audit"),)),
            Recv("User", "Ack"),
            Choose(
                (
                    Branch("yes", (Send("User", "Go", annotations=(("guard_capability", "go,admin"),)),)),
                    Branch("no", (Send("User", "Stop"),)),
                )
            ),
        ),
    )


def test_manifest_is_the_union_of_the_roles_send_capabilities() -> None:
    assert role_manifest(admin_type()) == ("admin", "audit", "go")


def test_manifest_check_passes_with_exactly_the_manifest() -> None:
    policy = CapabilityPolicy((DeviceCapabilities({"dev": {"admin", "audit", "go"}}),))
    check_manifest(policy, role="Admin", device="dev", context="ctx", manifest=role_manifest(admin_type()))


@pytest.mark.parametrize("dropped", ["admin", "audit", "go"])
def test_manifest_check_fails_with_one_capability_less(dropped: str) -> None:
    held = {"admin", "audit", "go"} - {dropped}
    policy = CapabilityPolicy((DeviceCapabilities({"dev": held}),))
    with pytest.raises(CapabilityDenied) as denied:
        check_manifest(
            policy,
            role="Admin",
            device="dev",
            context="ctx",
            manifest=role_manifest(admin_type()),
            session="s",
        )
    assert denied.value.capability == dropped
    assert denied.value.role == "Admin"
