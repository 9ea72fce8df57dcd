from __future__ import annotations

import pytest

from aura_choreo import (
    AuraChoreoError,
    BudgetExhausted,
    CapabilityDenied,
    ChoreographyError,
    LeakageExceeded,
    PeerTimeout,
    ProtocolViolation,
    TransportError,
)
from aura_choreo.diagnostics import Span, error


@pytest.mark.parametrize(
    "cls",
    [ChoreographyError, ProtocolViolation, CapabilityDenied, BudgetExhausted, LeakageExceeded,
     PeerTimeout, TransportError],
)
def test_every_error_is_an_aura_choreo_error(cls: type) -> None:
    assert issubclass(cls, AuraChoreoError)


def test_protocol_violation_names_role_session_step_expected_and_got() -> None:
    exc = ProtocolViolation("Coordinator", "send PrepareRequest to Participant", "recv Vote",
                            session="s-1", step="step 2")
    text = str(exc)
    for part in ("Coordinator", "s-1", "step 2", "PrepareRequest", "recv Vote"):
        assert part in text
    assert exc.role == "Coordinator" and exc.expected.startswith("send")


def test_capability_denied_names_role_and_capability() -> None:
    exc = CapabilityDenied("Admin", "admin_access", session="s-9")
    assert exc.capability == "admin_access"
    assert "Admin" in str(exc) and "admin_access" in str(exc)


def test_choreography_error_carries_and_renders_its_diagnostics() -> None:
    d = error("E001", Span("f.choreo", 1, 1, 1, 2), "unexpected `}`")
    exc = ChoreographyError([d], {"f.choreo": "}\n"})
    assert exc.diagnostics == [d]
    assert "f.choreo:1:1: error[E001]" in str(exc)
    assert "^" in str(exc)
