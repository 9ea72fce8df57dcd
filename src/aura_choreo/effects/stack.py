"""The role-effect handler stack of a run: per device resources, the randomness seed, middleware.

A session holds one `EffectStack`; each endpoint asks it for its handler (`handler_for`), which is the
device handler wrapped by the middleware (first listed outermost). `execution.build_stack` makes one
per execution mode; `EffectStack()` alone is the testing default (seed 0, in-memory storage, no keys).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from aura_choreo.effects.device import DeviceHandler, DeviceResources, session_rng
from aura_choreo.effects.ops import Handler

MiddlewareFactory = Callable[[Handler, str, str], Handler]
"""Wraps (inner handler, session id, role) into a handler: middleware that needs to know whose effects
it sees (a log) gets them; `lambda inner, session, role: EffectFaults(inner, ...)` ignores them."""


class EffectStack:
    """Builds each endpoint's role-effect handler (see the module docstring)."""

    def __init__(
        self,
        devices: Iterable[DeviceResources] = (),
        *,
        seed: int | None = 0,
        middleware: Iterable[MiddlewareFactory] = (),
        new_device: Callable[[str], DeviceResources] = DeviceResources,
    ) -> None:
        self.seed = seed
        """None: OS randomness (production); otherwise draws are seeded per (seed, session, role)."""
        self.middleware = tuple(middleware)
        self._devices: dict[str, DeviceResources] = {r.device: r for r in devices}
        self._new_device = new_device

    @property
    def devices(self) -> Mapping[str, DeviceResources]:
        return self._devices

    def resources(self, device: str) -> DeviceResources:
        """The resources of `device`; a device not given at construction gets `new_device(device)`
        (default: in-memory storage, no key), kept so that its later sessions see what earlier ones
        stored."""
        found = self._devices.get(device)
        if found is None:
            found = self._devices[device] = self._new_device(device)
        return found

    def handler_for(self, session: str, role: str, device: str) -> Handler:
        """The handler stack of `role`'s endpoint in `session`, played by `device`."""
        handler: Handler = DeviceHandler(self.resources(device), session_rng(self.seed, session, role))
        for factory in reversed(self.middleware):
            handler = factory(handler, session, role)
        return handler
