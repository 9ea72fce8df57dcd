"""Running the shipped choreographies: devices with a long-lived node, and two-party exchanges.

Every coordinator message exchange is one session of a `.choreo` file shipped in `protocols/`
(loaded with `importlib.resources`, so it works from a wheel as from a checkout), run through the
runtime exactly like a user protocol: each call of the role code is checked by the monitor, and the
session's extensions (for instance a policy's guard chain) see every send and receive.

A `Device` owns one `Node` on a transport for its whole life, so many exchanges (and many peers
syncing with it at once) share it, as the session layer intends. Both roles of an exchange run in this
process: the coordinator objects of both replicas are here (a simulation, a test, a bench, or one
process hosting several replicas). The frames still cross the transport, with its faults.

Two kinds of transport work: one shared by every device (in-memory, simulated: a device is attached at
its name), or one network transport per device (`tcp://`, `ws://`: `NetworkTransport` serves exactly
one device, attached at its listen address). A network transport only carries the frames of sessions
it knows, so each exchange registers its session on every party's transport and waits until the
peers have joined it (`open_session`: one JOIN/ACCEPT on the shared connection), and forgets it after.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from importlib import resources
from types import TracebackType
from typing import Any, runtime_checkable
from typing import Protocol as TypingProtocol

from aura_choreo.protocol import Protocol, choreography
from aura_choreo.runtime import Endpoint, ExtensionRegistry, Node, run_role
from aura_choreo.runtime.interpreter import first_error
from aura_choreo.runtime.runner import start_all
from aura_choreo.transports.base import Address, Transport
from aura_choreo.transports.net.handshake import SessionBinding

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


@runtime_checkable
class SessionTransport(TypingProtocol):
    """A transport that serves one device and carries only the sessions it was told of (the network
    transports: `transports.carrier.NetworkTransport`, the NATS one)."""

    @property
    def local_address(self) -> Address: ...

    async def open_session(self, binding: SessionBinding, *, timeout: float = 30.0) -> None: ...

    def close_session(self, session: str) -> None: ...


class Device:
    """One device on a transport: `async with Device("a", transport) as device:` attaches its node.

    On a network transport, `name` must be the transport's own device (its identity)."""

    def __init__(self, name: str, transport: Transport, *, retransmit_after: float = 0.05) -> None:
        self.name = name
        self.transport = transport
        self.sessions: SessionTransport | None = None
        if isinstance(transport, SessionTransport):
            self.sessions = transport
        """The transport again when it must be told of each session (a network one), else None."""
        self.address: Address = self.sessions.local_address if self.sessions is not None else name
        """Where this device's node is attached (and where its roles are reached)."""
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
        node = Node(self.transport, self.address, retransmit_after=self._retransmit_after, linger=0.0)
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
    connect_timeout: float = 10.0
    """How long a network transport may take to join every peer to the exchange's session."""


async def run_exchange(
    protocol: Protocol,
    parties: Mapping[str, tuple[Device, RoleCode]],
    options: ExchangeOptions = ExchangeOptions(),
) -> dict[str, Any]:
    """One session of `protocol`, each role played by imperative code on its device; returns each
    role's result. The first typed error of any role is raised as itself."""
    session = protocol.session(
        devices={role: device.address for role, (device, _) in parties.items()},
        peer_timeout=options.peer_timeout,
        extensions=options.extensions,
    )
    # (`Device.sessions`, not an isinstance check here: a runtime-checkable Protocol costs ~1 ms.)
    networked = {id(d.sessions): d.sessions for d, _ in parties.values() if d.sessions is not None}
    if networked:
        binding = SessionBinding(
            protocol_id(protocol), session.id, {role: device.name for role, (device, _) in parties.items()}
        )
        try:
            await asyncio.gather(
                *(t.open_session(binding, timeout=options.connect_timeout) for t in networked.values())
            )
        except BaseException:
            _close_sessions(networked.values(), session.id)
            raise
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
        _close_sessions(networked.values(), session.id)
    return results


def protocol_id(protocol: Protocol) -> str:
    """What the network handshake binds an exchange's session to: SHA-256 of the protocol's name and
    source text (both devices run the same shipped choreography)."""
    digest = hashlib.sha256(protocol.qualified_name.encode())
    for name, text in sorted(protocol.sources.items()):
        digest.update(b"\0" + name.encode() + b"\0" + text.encode())
    return digest.hexdigest()


def _close_sessions(transports: Iterable[SessionTransport], session: str) -> None:
    for transport in transports:
        transport.close_session(session)
