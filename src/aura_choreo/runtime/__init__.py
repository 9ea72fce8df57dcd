"""The run-time core: sessions, endpoints, the runner and its behaviours, effect programs, extensions.

    session = protocol.session()                       # or start_session(protocol)
    results = await run_session(session, InMemoryTransport(), {"A": code_for_a, "B": behaviour_b})

This is the surface a role's author needs; the pieces behind it (the monitor's tokens, the wire
envelope, middleware, the expression evaluator, ...) are imported from their own modules.
"""

from aura_choreo.runtime.behaviour import DefaultBehaviour, ProtocolHints
from aura_choreo.runtime.endpoint import Endpoint, SendFailed, TryAborted
from aura_choreo.runtime.extensions import Extension, ExtensionRegistry
from aura_choreo.runtime.messages import UserTypes
from aura_choreo.runtime.monitor import Monitor
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.program import Program
from aura_choreo.runtime.runner import run_role, run_session
from aura_choreo.runtime.session import Session, start_session
from aura_choreo.runtime.trace import Trace

__all__ = [
    "DefaultBehaviour",
    "Endpoint",
    "Extension",
    "ExtensionRegistry",
    "Monitor",
    "Node",
    "Program",
    "ProtocolHints",
    "SendFailed",
    "Session",
    "Trace",
    "TryAborted",
    "UserTypes",
    "run_role",
    "run_session",
    "start_session",
]
