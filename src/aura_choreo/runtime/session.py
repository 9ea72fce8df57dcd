"""Sessions: one run of a protocol, with an id, shared by the endpoints of its roles.

`start_session(protocol)` is what `Protocol.session(...)` calls. A session knows the local type of
every role, where each role's device listens (role -> address; by default the role's own name), the
message classes, the extension registry and the trace its endpoints record into. Many sessions of many
protocols may share one transport and one node per device: envelopes carry the session id and nodes
demultiplex on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aura_choreo.effects.stack import EffectStack
from aura_choreo.projection.protocol_like import ProtocolSource, resolve_protocol
from aura_choreo.runtime.catalog import MessageCatalog
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.extensions import ExtensionRegistry
from aura_choreo.runtime.messages import UserTypes
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.session_data import DEFAULT_PEER_TIMEOUT, SessionData, new_session_id
from aura_choreo.runtime.trace import Trace
from aura_choreo.transports.base import Address

__all__ = ["DEFAULT_PEER_TIMEOUT", "Session", "new_session_id", "start_session"]


@dataclass(eq=False)
class Session(SessionData):
    """One run of a protocol. Create endpoints with `session.endpoint(role, node)`."""

    def endpoint(self, role: str, node: Node, *, device: str | None = None) -> Endpoint:
        """The endpoint of `role` in this session, hosted by `node` (use it with `async with`)."""
        return Endpoint(self, role, node, device=device)


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
    effects: EffectStack | None = None,
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
        effects=effects if effects is not None else EffectStack(),
    )
