"""Running the shipped choreographies: devices with a long-lived node, and two-party exchanges.

Every coordinator message exchange is one session of a `.choreo` file shipped in `protocols/`
(loaded with `importlib.resources`, so it works from a wheel as from a checkout), run through the
runtime exactly like a user protocol: each call of the role code is checked by the monitor, and the
session's extensions (for instance a policy's guard chain) see every send and receive.

A `Device` owns one `Node` on a transport for its whole life, so many exchanges (and many peers
syncing with it at once) share it, as the session layer intends. Both roles of an exchange run in this
process: the coordinator objects of both replicas are here (a simulation, a test, a bench, or one
process hosting several replicas). The frames still cross the transport, with its faults.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from importlib import resources
from types import TracebackType
from typing import Any

from aura_choreo.protocol import Protocol, choreography
from aura_choreo.runtime import Endpoint, ExtensionRegistry, Node, run_role
from aura_choreo.runtime.interpreter import first_error
from aura_choreo.runtime.runner import start_all
from aura_choreo.transports.base import Transport

PROTOCOL_FILES = ("crdt_sync.choreo", "anti_entropy.choreo", "storage.choreo")
"""The choreographies shipped in `aura_choreo/orchestration/protocols/`."""

RoleCode = Callable[[Endpoint], Awaitable[Any]]


def protocol_text(filename: str) -> str:
    """The source of a shipped choreography."""
    if filename not in PROTOCOL_FILES:
        raise ValueError(f"no shipped protocol {filename!r} (shipped: {', '.join(PROTOCOL_FILES)})")
    return (resources.files(__package__) / "protocols" / filename).read_text(encoding="utf-8")


@functools.cache
def shipped_protocol(filename: str) -> Protocol:
    """A shipped choreography, checked and projected (once per process: protocols are immutable)."""
    return choreography(protocol_text(filename), filename=f"aura_choreo/orchestration/protocols/{filename}")


class Device:
    """One device on a transport: `async with Device("a", transport) as device:` attaches its node."""

    def __init__(self, name: str, transport: Transport, *, retransmit_after: float = 0.05) -> None:
        self.name = name
        self.transport = transport
        self._retransmit_after = retransmit_after
        self._stack: AsyncExitStack | None = None
        self._node: Node | None = None

    @property
    def node(self) -> Node:
        if self._node is None:
            raise RuntimeError(f"device {self.name!r} is not started (use `async with device:`)")
        return self._node

    @property
    def started(self) -> bool:
        return self._node is not None

    async def __aenter__(self) -> Device:
        stack = AsyncExitStack()
        node = Node(self.transport, self.name, retransmit_after=self._retransmit_after, linger=0.0)
        self._node = await stack.enter_async_context(node)
        self._stack = stack
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stack, self._stack, self._node = self._stack, None, None
        if stack is not None:
            await stack.__aexit__(exc_type, exc, tb)


@dataclass(frozen=True)
class ExchangeOptions:
    """How exchanges run: the receive deadline, and the extensions (e.g. a guard chain) of each session."""

    peer_timeout: float = 5.0
    extensions: ExtensionRegistry | None = None


async def run_exchange(
    protocol: Protocol,
    parties: Mapping[str, tuple[Device, RoleCode]],
    options: ExchangeOptions = ExchangeOptions(),
) -> dict[str, Any]:
    """One session of `protocol`, each role played by imperative code on its device; returns each
    role's result. The first typed error of any role is raised as itself."""
    session = protocol.session(
        devices={role: device.name for role, (device, _) in parties.items()},
        peer_timeout=options.peer_timeout,
        extensions=options.extensions,
    )
    endpoints = {role: session.endpoint(role, device.node) for role, (device, _) in parties.items()}
    results: dict[str, Any] = {}
    try:
        start_all(endpoints.values())

        async def one(role: str) -> None:
            results[role] = await run_role(endpoints[role], parties[role][1])

        try:
            async with asyncio.TaskGroup() as group:
                for role in parties:
                    group.create_task(one(role))
        except BaseExceptionGroup as errors:
            raise first_error(errors) from None
    finally:
        for endpoint in endpoints.values():
            endpoint.close(ok=False)
    return results
