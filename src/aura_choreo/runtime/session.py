"""Sessions: one run of a protocol, with an id, shared by the endpoints of its roles.

`start_session(protocol)` is what `Protocol.session(...)` calls. A session knows the local type of
every role, where each role's device listens (role -> address; by default the role's own name), the
message classes, the extension registry and the trace its endpoints record into. Many sessions of many
protocols may share one transport and one node per device: envelopes carry the session id and nodes
demultiplex on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from aura_choreo.projection.local_types import LocalType
from aura_choreo.projection.protocol_like import ProtocolSource, resolve_protocol
from aura_choreo.runtime.extensions import ExtensionRegistry
from aura_choreo.runtime.messages import MessageCatalog, UserTypes
from aura_choreo.runtime.trace import Trace
from aura_choreo.transports.base import Address

if TYPE_CHECKING:
    from aura_choreo.runtime.endpoint import Endpoint
    from aura_choreo.runtime.node import Node

DEFAULT_PEER_TIMEOUT = 30.0
"""Seconds a receive waits for a silent peer when the step has no `timeout` annotation."""


@dataclass(eq=False)
class Session:
    """One run of a protocol. Create endpoints with `session.endpoint(role, node)`."""

    id: str
    protocol: str
    local_types: Mapping[str, LocalType]
    catalog: MessageCatalog
    extensions: ExtensionRegistry = field(default_factory=ExtensionRegistry)
    trace: Trace = field(default_factory=Trace)
    devices: Mapping[str, Address] = field(default_factory=dict)
    peer_timeout: float | None = DEFAULT_PEER_TIMEOUT
    params: Mapping[str, object] = field(default_factory=dict)

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

    def endpoint(self, role: str, node: Node, *, device: str | None = None) -> Endpoint:
        """The endpoint of `role` in this session, hosted by `node` (use it with `async with`)."""
        from aura_choreo.runtime.endpoint import Endpoint

        return Endpoint(self, role, node, device=device)

    def another(self, session_id: str | None = None) -> Session:
        """A new session of the same protocol, sharing message classes, extensions and trace."""
        return replace(self, id=session_id or new_session_id())


def new_session_id() -> str:
    """A fresh random session id."""
    return uuid.uuid4().hex[:16]


def start_session(
    protocol: ProtocolSource,
    *,
    session_id: str | None = None,
    devices: Mapping[str, Address] | None = None,
    extensions: ExtensionRegistry | None = None,
    trace: Trace | None = None,
    peer_timeout: float | None = DEFAULT_PEER_TIMEOUT,
    user_types: UserTypes | None = None,
    params: Mapping[str, object] | None = None,
    protocol_name: str | None = None,
) -> Session:
    """Create a session of `protocol` (a loaded `Protocol`, or local types by role, for tests)."""
    resolved = resolve_protocol(protocol)
    local_types, name, merged = resolved.local_types, resolved.name, resolved.params
    merged.update(params or {})
    return Session(
        id=session_id or new_session_id(),
        protocol=protocol_name or name,
        local_types=local_types,
        catalog=MessageCatalog.for_local_types(local_types.values(), user_types),
        extensions=extensions if extensions is not None else ExtensionRegistry(),
        trace=trace if trace is not None else Trace(),
        devices=dict(devices or {}),
        peer_timeout=peer_timeout,
        params=merged,
    )
