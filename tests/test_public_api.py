"""The public surfaces: `aura_choreo` exports the user API of DESIGN.md and nothing internal; each
package's `__init__` exports a small surface, and every exported name resolves."""

from __future__ import annotations

import importlib

import pytest

import aura_choreo

USER_API = {
    # DESIGN.md: load, parse, choreography, Protocol, Endpoint, Session, run_session, the
    # transports, the errors.
    "load",
    "load_all",
    "parse",
    "parse_source",
    "choreography",
    "Protocol",
    "Endpoint",
    "Session",
    "run_session",
    "InMemoryTransport",
    "SimulatedTransport",
    "Transport",
    "AuraChoreoError",
    "BehaviourError",
    "BudgetExhausted",
    "CapabilityDenied",
    "ChoreographyError",
    "LeakageExceeded",
    "PeerTimeout",
    "ProtocolViolation",
    "ReceiptError",
    "TransportError",
    "__version__",
}

# The most names a package exports: enough for its users, not a list of its internals.
SURFACES = {
    "guards": 12,
    "verify": 16,
    "testing": 18,
    "syntax": 12,
    "semantics": 5,
    "projection": 4,
    "runtime": 16,
}


def test_the_top_level_exports_exactly_the_user_api() -> None:
    assert set(aura_choreo.__all__) == USER_API
    for name in aura_choreo.__all__:
        assert getattr(aura_choreo, name) is not None


def test_an_internal_name_is_not_reachable_from_the_top_level() -> None:
    with pytest.raises(AttributeError):
        _ = aura_choreo.GuardChain  # type: ignore[attr-defined]


@pytest.mark.parametrize("package", sorted(SURFACES))
def test_each_package_exports_a_small_surface_whose_names_resolve(package: str) -> None:
    module = importlib.import_module(f"aura_choreo.{package}")
    exported = list(module.__all__)
    assert len(exported) <= SURFACES[package], exported
    for name in exported:
        assert getattr(module, name) is not None, name
