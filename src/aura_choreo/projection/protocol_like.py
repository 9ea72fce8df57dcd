"""What the stages after projection accept as "a protocol": a loaded `Protocol`, or local types.

The runtime (`start_session`), the trace checker and the test strategies all take either form; this
module is the one place that turns either into local types by role, a protocol name and the bound
parameters. `ProtocolLike` is structural, so these stages never import `aura_choreo.protocol` (a
later stage: its `Protocol.session` starts runtime sessions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeGuard, runtime_checkable

from aura_choreo.projection.local_types import LocalType


@runtime_checkable
class ProtocolLike(Protocol):
    """A checked, projected protocol (`aura_choreo.Protocol` is one)."""

    @property
    def qualified_name(self) -> str: ...

    def local_types(self) -> Mapping[str, LocalType]: ...


LocalTypes = Mapping[str, LocalType] | Iterable[LocalType]
"""Local types by role, or just local types (each names its role)."""

ProtocolSource = ProtocolLike | LocalTypes
"""Anything `resolve_protocol` accepts."""


@dataclass(frozen=True)
class ResolvedProtocol:
    """A protocol as the runtime and the checkers need it."""

    name: str
    local_types: dict[str, LocalType]
    params: dict[str, object]
    """Bound parameters and family sizes (empty for bare local types)."""


def resolve_protocol(protocol: ProtocolSource) -> ResolvedProtocol:
    """The local types by role, name and parameters of a `Protocol` or of bare local types."""
    if _is_protocol_like(protocol):
        local_types = _by_role(protocol.local_types())
        bound = getattr(protocol, "params", None)
        params: dict[str, object] = dict(bound) if isinstance(bound, Mapping) else {}
        name = protocol.qualified_name
    else:
        local_types, params, name = _by_role(protocol), {}, ""
    if not name and local_types:
        name = next(iter(local_types.values())).protocol
    return ResolvedProtocol(name, local_types, params)


def _is_protocol_like(value: object) -> TypeGuard[ProtocolLike]:
    """`isinstance(value, ProtocolLike)` without typing's runtime protocol check, which lists the
    protocol's members again on every call (Python 3.11): a fifth of a session's set-up."""
    return hasattr(value, "qualified_name") and callable(getattr(value, "local_types", None))


def _by_role(local_types: object) -> dict[str, LocalType]:
    if isinstance(local_types, Mapping):
        return {str(role): lt for role, lt in local_types.items() if isinstance(lt, LocalType)}
    if isinstance(local_types, Iterable) and not isinstance(local_types, str | bytes):
        return {lt.role: lt for lt in local_types if isinstance(lt, LocalType)}
    raise TypeError(f"expected a protocol or local types, got {type(local_types).__name__}")
