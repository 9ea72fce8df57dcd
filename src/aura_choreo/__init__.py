"""aura-choreo: write a multi-party protocol once, check it, project it, run it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from aura_choreo.guards import GuardExtension, GuardProfile, Policy, build_guard_extension, load_policy
    from aura_choreo.journal import Journal, JournalStore
    from aura_choreo.protocol import Protocol, choreography, load, load_all
    from aura_choreo.syntax import parse, parse_source
    from aura_choreo.testing import check_trace, simulate
    from aura_choreo.transports.simulated import SimulatedTransport
    from aura_choreo.verify import VerificationReport, verify_protocol

__version__ = "0.1.0"

# Re-exports imported on first use, so `import aura_choreo` (and `aura-choreo --help`) stays fast.
_LAZY_EXPORTS: dict[str, str] = {
    "parse": "aura_choreo.syntax",
    "parse_source": "aura_choreo.syntax",
    "Protocol": "aura_choreo.protocol",
    "choreography": "aura_choreo.protocol",
    "load": "aura_choreo.protocol",
    "load_all": "aura_choreo.protocol",
    "GuardExtension": "aura_choreo.guards",
    "GuardProfile": "aura_choreo.guards",
    "Policy": "aura_choreo.guards",
    "build_guard_extension": "aura_choreo.guards",
    "load_policy": "aura_choreo.guards",
    "Journal": "aura_choreo.journal",
    "JournalStore": "aura_choreo.journal",
    "VerificationReport": "aura_choreo.verify",
    "verify_protocol": "aura_choreo.verify",
    "SimulatedTransport": "aura_choreo.transports.simulated",
    "check_trace": "aura_choreo.testing",
    "simulate": "aura_choreo.testing",
}


def __getattr__(name: str) -> object:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aura_choreo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "AuraChoreoError",
    "BudgetExhausted",
    "CapabilityDenied",
    "ChoreographyError",
    "GuardExtension",
    "GuardProfile",
    "Journal",
    "JournalStore",
    "LeakageExceeded",
    "PeerTimeout",
    "Policy",
    "Protocol",
    "ProtocolViolation",
    "ReceiptError",
    "SimulatedTransport",
    "TransportError",
    "VerificationReport",
    "__version__",
    "build_guard_extension",
    "check_trace",
    "choreography",
    "load",
    "load_all",
    "load_policy",
    "parse",
    "parse_source",
    "simulate",
    "verify_protocol",
]
