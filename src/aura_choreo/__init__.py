"""aura-choreo: write a multi-party protocol once, check it, project it, run it.

    import aura_choreo

    protocol = aura_choreo.load("two_phase_commit.choreo")   # parse, check, project (or raise)
    session = protocol.session()
    await aura_choreo.run_session(session, aura_choreo.InMemoryTransport(), {"Coordinator": code})

This is the user API of DESIGN.md; everything else lives in the stage packages (`aura_choreo.runtime`,
`aura_choreo.guards`, `aura_choreo.testing`, `aura_choreo.verify`, ...).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from aura_choreo.errors import (
    AuraChoreoError,
    BehaviourError,
    BudgetExhausted,
    CapabilityDenied,
    ChoreographyError,
    LeakageExceeded,
    PeerTimeout,
    ProtocolViolation,
    ReceiptError,
    TransportError,
)
from aura_choreo.version import __version__

if TYPE_CHECKING:
    from aura_choreo.protocol import Protocol, choreography, load, load_all
    from aura_choreo.runtime.endpoint import Endpoint
    from aura_choreo.runtime.runner import run_session
    from aura_choreo.runtime.session import Session
    from aura_choreo.syntax import parse, parse_source
    from aura_choreo.transports import InMemoryTransport, Transport
    from aura_choreo.transports.simulated import SimulatedTransport

# Imported on first use, so `import aura_choreo` (and `aura-choreo --help`) stays fast.
_LAZY_EXPORTS: dict[str, str] = {
    "parse": "aura_choreo.syntax",
    "parse_source": "aura_choreo.syntax",
    "Protocol": "aura_choreo.protocol",
    "choreography": "aura_choreo.protocol",
    "load": "aura_choreo.protocol",
    "load_all": "aura_choreo.protocol",
    "Endpoint": "aura_choreo.runtime.endpoint",
    "Session": "aura_choreo.runtime.session",
    "run_session": "aura_choreo.runtime.runner",
    "InMemoryTransport": "aura_choreo.transports",
    "Transport": "aura_choreo.transports",
    "SimulatedTransport": "aura_choreo.transports.simulated",
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
    "BehaviourError",
    "BudgetExhausted",
    "CapabilityDenied",
    "ChoreographyError",
    "Endpoint",
    "InMemoryTransport",
    "LeakageExceeded",
    "PeerTimeout",
    "Protocol",
    "ProtocolViolation",
    "ReceiptError",
    "Session",
    "SimulatedTransport",
    "Transport",
    "TransportError",
    "__version__",
    "choreography",
    "load",
    "load_all",
    "parse",
    "parse_source",
    "run_session",
]
