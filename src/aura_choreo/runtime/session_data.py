"""The data of one session (id, local types, message classes, devices, ...), without the endpoints.

Endpoints, saga control and the runner read a session through this class; `session.Session` adds
`endpoint()`, which creates an `Endpoint`, so the endpoint's modules do not import the module that
imports them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Self

from aura_choreo.effects.stack import EffectStack
from aura_choreo.projection.local_types import LocalType
from aura_choreo.runtime.catalog import MessageCatalog
from aura_choreo.runtime.extensions import ExtensionRegistry
from aura_choreo.runtime.trace import Trace
from aura_choreo.transports.base import Address

DEFAULT_PEER_TIMEOUT = 30.0
"""Seconds a receive waits for a silent peer when the step has no `timeout` annotation."""


@dataclass(eq=False)
class SessionData:
    """One run of a protocol: what its endpoints share."""

    id: str
    protocol: str
    local_types: Mapping[str, LocalType]
    catalog: MessageCatalog
    extensions: ExtensionRegistry = field(default_factory=ExtensionRegistry)
    trace: Trace = field(default_factory=Trace)
    devices: Mapping[str, Address] = field(default_factory=dict)
    peer_timeout: float | None = DEFAULT_PEER_TIMEOUT
    params: Mapping[str, object] = field(default_factory=dict)
    effects: EffectStack = field(default_factory=EffectStack)
    """How role effects are performed (SPEC §5.8); the execution mode's stack (`execution.build_stack`)."""

    @property
    def roles(self) -> tuple[str, ...]:
        """Every concrete role, in declaration order."""
        for local_type in self.local_types.values():
            if local_type.roles:
                return local_type.roles
        return tuple(self.local_types)

    def address(self, role: str) -> Address:
        """Where `role`'s device listens."""
        return self.devices.get(role, role)

    def another(self, session_id: str | None = None) -> Self:
        """A new session of the same protocol, sharing message classes, extensions and trace."""
        return replace(self, id=session_id or new_session_id())


def new_session_id() -> str:
    """A fresh random session id."""
    return os.urandom(8).hex()  # 64 random bits, as 16 hex digits (a uuid4 object cost more)
