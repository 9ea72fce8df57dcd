"""Capabilities (SPEC §5.2): per-device sets, layered policies, the pre-session manifest check."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from aura_choreo.errors import CapabilityDenied
from aura_choreo.guards.profile import parse_name_list


def parse_capabilities(text: str) -> tuple[str, ...]:
    """The capabilities of a `guard_capability` value: comma-separated, all required, whitespace free."""
    return parse_name_list(text)


@dataclass(frozen=True)
class CapabilityRequest:
    """One request to use capabilities: who asks, in which context, for what (all of `required`)."""

    role: str
    device: str
    context: str
    required: tuple[str, ...]


class CapabilityLayer(Protocol):
    """One layer of a capability policy: names the first required capability it does not allow."""

    name: str

    def first_missing(self, request: CapabilityRequest) -> str | None: ...


class DeviceCapabilities:
    """The capability set each device holds; sets can be granted and revoked while sessions run."""

    name = "device"

    def __init__(self, held: Mapping[str, Iterable[str]] | None = None) -> None:
        self._held: dict[str, frozenset[str]] = {d: frozenset(caps) for d, caps in (held or {}).items()}

    def held(self, device: str) -> frozenset[str]:
        return self._held.get(device, frozenset())

    def grant(self, device: str, *capabilities: str) -> None:
        self._held[device] = self.held(device) | frozenset(capabilities)

    def revoke(self, device: str, *capabilities: str) -> None:
        self._held[device] = self.held(device) - frozenset(capabilities)

    def first_missing(self, request: CapabilityRequest) -> str | None:
        held = self.held(request.device)
        return next((c for c in request.required if c not in held), None)


class ContextCapabilities:
    """A refining layer: in the contexts it lists, only the capabilities listed there may be used."""

    def __init__(self, allowed: Mapping[str, Iterable[str]], *, name: str = "context") -> None:
        self.name = name
        self._allowed = {ctx: frozenset(caps) for ctx, caps in allowed.items()}

    def first_missing(self, request: CapabilityRequest) -> str | None:
        allowed = self._allowed.get(request.context)
        if allowed is None:
            return None
        return next((c for c in request.required if c not in allowed), None)


@dataclass(frozen=True)
class CapabilityPolicy:
    """Layers checked in order; a request is allowed only if every layer allows it."""

    layers: tuple[CapabilityLayer, ...]

    def first_missing(self, request: CapabilityRequest) -> tuple[str, str] | None:
        """(layer name, capability) of the first denial, or None when every layer allows."""
        for layer in self.layers:
            missing = layer.first_missing(request)
            if missing is not None:
                return layer.name, missing
        return None

    def check(
        self, request: CapabilityRequest, *, session: str | None = None, step: str | None = None
    ) -> None:
        """Raise `CapabilityDenied` naming the role and the first capability some layer denies."""
        denial = self.first_missing(request)
        if denial is not None:
            raise CapabilityDenied(request.role, denial[1], session=session, step=step)


def check_manifest(
    policy: CapabilityPolicy,
    *,
    role: str,
    device: str,
    context: str,
    manifest: Iterable[str],
    session: str | None = None,
) -> None:
    """Before a session starts: raise `CapabilityDenied` if the device lacks any manifest capability."""
    required = tuple(manifest) if not isinstance(manifest, frozenset | set) else tuple(sorted(manifest))
    policy.check(CapabilityRequest(role, device, context, required), session=session, step="session start")
