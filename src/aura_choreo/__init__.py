"""aura-choreo: write a multi-party protocol once, check it, project it, run it."""

from __future__ import annotations

from aura_choreo.errors import (
    AuraChoreoError,
    BudgetExhausted,
    CapabilityDenied,
    ChoreographyError,
    LeakageExceeded,
    PeerTimeout,
    ProtocolViolation,
    ReceiptError,
    TransportError,
)

__version__ = "0.1.0"

__all__ = [
    "AuraChoreoError",
    "BudgetExhausted",
    "CapabilityDenied",
    "ChoreographyError",
    "LeakageExceeded",
    "PeerTimeout",
    "ProtocolViolation",
    "ReceiptError",
    "TransportError",
    "__version__",
]
