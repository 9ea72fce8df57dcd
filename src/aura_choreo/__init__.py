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
    from aura_choreo.runtime import (
        DefaultBehaviour,
        Endpoint,
        Extension,
        ExtensionRegistry,
        Node,
        Program,
        Session,
        Trace,
        UserTypes,
        run_role,
        run_session,
        start_session,
    )
    from aura_choreo.syntax import parse, parse_source
    from aura_choreo.testing import check_trace, simulate
    from aura_choreo.transports import InMemoryTransport, Transport
    from aura_choreo.transports.simulated import SimulatedTransport
    from aura_choreo.verify import VerificationReport, verify_protocol

from aura_choreo.version import __version__

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
    "Endpoint": "aura_choreo.runtime",
    "Session": "aura_choreo.runtime",
    "start_session": "aura_choreo.runtime",
    "run_session": "aura_choreo.runtime",
    "run_role": "aura_choreo.runtime",
    "Program": "aura_choreo.runtime",
    "DefaultBehaviour": "aura_choreo.runtime",
    "Extension": "aura_choreo.runtime",
    "ExtensionRegistry": "aura_choreo.runtime",
    "UserTypes": "aura_choreo.runtime",
    "Trace": "aura_choreo.runtime",
    "Node": "aura_choreo.runtime",
    "InMemoryTransport": "aura_choreo.transports",
    "Transport": "aura_choreo.transports",
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
    "DefaultBehaviour",
    "Endpoint",
    "Extension",
    "ExtensionRegistry",
    "GuardExtension",
    "GuardProfile",
    "InMemoryTransport",
    "Journal",
    "JournalStore",
    "LeakageExceeded",
    "Node",
    "PeerTimeout",
    "Policy",
    "Program",
    "Protocol",
    "ProtocolViolation",
    "ReceiptError",
    "Session",
    "SimulatedTransport",
    "Trace",
    "Transport",
    "TransportError",
    "UserTypes",
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
    "run_role",
    "run_session",
    "simulate",
    "start_session",
    "verify_protocol",
]
