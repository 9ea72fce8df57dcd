"""Transports: every one implements `Transport`/`Link` of `transports.base` (see there)."""

from aura_choreo.transports.base import DEFAULT_MAX_FRAME, Address, FrameHandler, Link, Transport
from aura_choreo.transports.inmemory import InMemoryTransport

__all__ = ["DEFAULT_MAX_FRAME", "Address", "FrameHandler", "InMemoryTransport", "Link", "Transport"]
