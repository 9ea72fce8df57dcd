"""The run-time core: monitors, endpoints, sessions, effect programs, behaviours, traces.

    session = protocol.session()                       # or start_session(protocol)
    results = await run_session(session, InMemoryTransport(), {"A": code_for_a, "B": behaviour_b})
"""

from aura_choreo.runtime.behaviour import BehaviourAdapter, DefaultBehaviour, ProtocolHints
from aura_choreo.runtime.endpoint import Endpoint, SendFailed, TryAborted
from aura_choreo.runtime.expressions import ExpressionError, evaluate
from aura_choreo.runtime.extensions import Extension, ExtensionRegistry, SessionContext, StepContext
from aura_choreo.runtime.interpreter import EndpointHandler, Handler, Interpreter
from aura_choreo.runtime.messages import MessageCatalog, UserTypes
from aura_choreo.runtime.middleware import FaultInjection, MetricsMiddleware, RetryMiddleware, TraceMiddleware
from aura_choreo.runtime.monitor import EvaluationFailed, Monitor
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.program import Program
from aura_choreo.runtime.runner import run_role, run_session
from aura_choreo.runtime.session import Session, start_session
from aura_choreo.runtime.trace import Trace, TraceEvent
from aura_choreo.transports.inmemory import InMemoryTransport

__all__ = [
    "BehaviourAdapter",
    "DefaultBehaviour",
    "Endpoint",
    "EndpointHandler",
    "EvaluationFailed",
    "ExpressionError",
    "Extension",
    "ExtensionRegistry",
    "FaultInjection",
    "Handler",
    "InMemoryTransport",
    "Interpreter",
    "MessageCatalog",
    "MetricsMiddleware",
    "Monitor",
    "Node",
    "Program",
    "ProtocolHints",
    "RetryMiddleware",
    "SendFailed",
    "Session",
    "SessionContext",
    "StepContext",
    "Trace",
    "TraceEvent",
    "TraceMiddleware",
    "TryAborted",
    "UserTypes",
    "evaluate",
    "run_role",
    "run_session",
    "start_session",
]
