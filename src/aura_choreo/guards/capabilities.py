"""Capabilities (SPEC §5.2): per-device sets, layered policies, the pre-session manifest check."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, cast

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


@dataclass(frozen=True, slots=True)
class CapabilityContext:
    """What a request may use, as the layers so far have refined it (SPEC §5.8).

    Each layer of a policy receives the context the layer before it returned and returns it refined:
    `allowed` narrowed (never widened: `narrowed` intersects), or `context` moved into a sub-protocol's
    context that the layers after it see.
    """

    role: str
    device: str
    context: str
    allowed: frozenset[str] | None = None
    """The capabilities still usable (None: no layer has narrowed them yet)."""

    def narrowed(self, capabilities: Iterable[str]) -> CapabilityContext:
        """This context with only `capabilities` (of those still allowed) usable."""
        keep = frozenset(capabilities)
        allowed = keep if self.allowed is None else self.allowed & keep
        return CapabilityContext(self.role, self.device, self.context, allowed)  # `replace`, but cheaper

    def within(self, context: str) -> CapabilityContext:
        """This context moved into `context` (e.g. a sub-protocol's), for the layers after this one."""
        return CapabilityContext(self.role, self.device, context, self.allowed)


class CapabilityLayer(Protocol):
    """One layer of a capability policy: refines the context the layer before it returned."""

    name: str

    def refine(self, context: CapabilityContext) -> CapabilityContext: ...


class VersionedLayer(CapabilityLayer, Protocol):
    """A layer whose decisions change only with its `version` (the built-in layers)."""

    version: int


@dataclass(frozen=True)
class CapabilityDenial:
    """Which layer (1-based index and name) denied which capability."""

    index: int
    layer: str
    capability: str


class DeviceCapabilities:
    """The capability set each device holds; sets can be granted and revoked while sessions run.

    `version` counts the grants and revokes: a decision taken at one version holds until it changes
    (see `CapabilityPolicy.stamp`). A subclass whose `held` answers change otherwise must bump it.
    """

    name = "device"

    def __init__(self, held: Mapping[str, Iterable[str]] | None = None) -> None:
        self._held: dict[str, frozenset[str]] = {d: frozenset(caps) for d, caps in (held or {}).items()}
        self.version = 0

    def held(self, device: str) -> frozenset[str]:
        return self._held.get(device, frozenset())

    def grant(self, device: str, *capabilities: str) -> None:
        self._held[device] = self.held(device) | frozenset(capabilities)
        self.version += 1

    def revoke(self, device: str, *capabilities: str) -> None:
        self._held[device] = self.held(device) - frozenset(capabilities)
        self.version += 1

    def refine(self, context: CapabilityContext) -> CapabilityContext:
        return context.narrowed(self.held(context.device))


class ContextCapabilities:
    """A refining layer: in the contexts it lists, only the capabilities listed there may be used;
    with `enter`, a listed context then moves into a sub-context the later layers see."""

    def __init__(
        self,
        allowed: Mapping[str, Iterable[str]],
        *,
        name: str = "context",
        enter: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self._allowed = {ctx: frozenset(caps) for ctx, caps in allowed.items()}
        self._enter = dict(enter or {})
        self.version = 0
        """Never changes: the layer is fixed when built (see `CapabilityPolicy.stamp`)."""

    def refine(self, context: CapabilityContext) -> CapabilityContext:
        allowed = self._allowed.get(context.context)
        refined = context if allowed is None else context.narrowed(allowed)
        sub = self._enter.get(context.context)
        return refined if sub is None else refined.within(sub)


class RefiningLayer:
    """A layer given as a function of the context (for refinements the built-in layers cannot say)."""

    def __init__(self, name: str, refine: Callable[[CapabilityContext], CapabilityContext]) -> None:
        self.name = name
        self._refine = refine

    def refine(self, context: CapabilityContext) -> CapabilityContext:
        return self._refine(context)


@dataclass(frozen=True)
class CapabilityPolicy:
    """Layers applied in order, each to the context the one before returned; a request is allowed
    only if no layer's refined context lacks a required capability."""

    layers: tuple[CapabilityLayer, ...]
    _versioned: tuple[CapabilityLayer, ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    only_layer: VersionedLayer | None = field(default=None, init=False, repr=False, compare=False)
    """The one layer of a one-layer policy whose decisions are dated (None otherwise): its `version`
    is the policy's `stamp()`, which a guarded send then reads without a call."""

    def __post_init__(self) -> None:
        # The layers whose decisions only change with their `version` (the built-in ones), or None when
        # some layer's cannot be dated (a `RefiningLayer` or a layer of the user's).
        versioned = all(isinstance(getattr(layer, "version", None), int) for layer in self.layers)
        object.__setattr__(self, "_versioned", self.layers if versioned else None)
        only = cast(VersionedLayer, self.layers[0]) if versioned and len(self.layers) == 1 else None
        object.__setattr__(self, "only_layer", only)

    def stamp(self) -> int | None:
        """A number that changes whenever a layer's decisions may have (a grant or a revoke), so a
        request allowed at one stamp is allowed while it stays; None when some layer's decisions cannot
        be dated (a function of the context may answer differently at every call): check every time."""
        layers = self._versioned
        if layers is None:
            return None
        if len(layers) == 1:  # the common policy (one device layer): asked at every guarded send
            return layers[0].version  # type: ignore[attr-defined, no-any-return]  # see __post_init__
        total = 0
        for layer in layers:
            total += layer.version  # type: ignore[attr-defined]  # checked in __post_init__
        return total

    def authorize(self, request: CapabilityRequest) -> CapabilityContext | CapabilityDenial:
        """The context the last layer returned, or the first denial (layer index, name, capability)."""
        context = CapabilityContext(request.role, request.device, request.context)
        for index, layer in enumerate(self.layers, start=1):
            context = layer.refine(context)
            allowed = context.allowed
            if allowed is not None:
                missing = next((c for c in request.required if c not in allowed), None)
                if missing is not None:
                    return CapabilityDenial(index, layer.name, missing)
        return context

    def first_missing(self, request: CapabilityRequest) -> tuple[str, str] | None:
        """(layer name, capability) of the first denial, or None when every layer allows."""
        if not request.required:
            return None
        denial = self.authorize(request)
        return (denial.layer, denial.capability) if isinstance(denial, CapabilityDenial) else None

    def check(
        self, request: CapabilityRequest, *, session: str | None = None, step: str | None = None
    ) -> None:
        """Raise `CapabilityDenied` naming the role, the capability and the layer that denied it."""
        if not request.required:
            return  # nothing to deny: the common unannotated send pays no layer walk
        denial = self.authorize(request)
        if isinstance(denial, CapabilityDenial):
            raise CapabilityDenied(
                request.role,
                denial.capability,
                session=session,
                step=step,
                layer=denial.layer,
                layer_index=denial.index,
            )


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
