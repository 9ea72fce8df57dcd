"""Run one role of a deployed session in this process, over its carrier (what `aura-choreo run` calls).

    deployment = plan_deployment(protocol, policy, load_identity("keys/alice.key"), "Coordinator")
    outcome = await run_deployed_role(deployment, behaviour=MyCoordinator())

A process running many sessions of one device shares one network presence between them (for
nats://, one server connection; for tcp/ws/quic, one connection per peer device):

    async with device_network(deployments[0]) as network:
        outcomes = await asyncio.gather(*(run_deployed_role(d, network=network) for d in deployments))

The role runs exactly as in-process: the same monitor, behaviours, guard chain (with this device's
own key signing receipts and the policy's pinned keys verifying the peers'), journal and trace. Order:
capability manifest first (a refused device never opens a socket), then the flow budgets every run
would exceed (`preflight`: every process refuses), then every peer connected and authenticated
(`NetworkTransport.open_session`), then the role.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import msgspec

from aura_choreo.deployment.plan import Deployment, DeploymentError
from aura_choreo.deployment.preflight import refuse_certain_overspend
from aura_choreo.deployment.report import error_json
from aura_choreo.errors import AuraChoreoError, RuntimeProtocolError
from aura_choreo.execution.modes import ExecutionStack, build_stack
from aura_choreo.guards.extension import GuardExtension
from aura_choreo.runtime.extensions import ExtensionRegistry
from aura_choreo.runtime.interpreter import Handler
from aura_choreo.runtime.middleware import describe_effect
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.program import Effect
from aura_choreo.runtime.runner import run_role
from aura_choreo.runtime.session import Session
from aura_choreo.runtime.trace import Trace, TraceEvent
from aura_choreo.runtime.user_code import as_behaviour_error, user_code_errors
from aura_choreo.runtime.wire import Envelope, WireError, decode_envelope
from aura_choreo.transports.carrier import NetworkTransport
from aura_choreo.transports.mixed import MixedTransport, broker_pair, on_broker
from aura_choreo.transports.nats_broker import NatsTransport
from aura_choreo.transports.peering import StatusCallback

DeployedTransport = NetworkTransport | NatsTransport | MixedTransport
"""A point-to-point transport (tcp://, ws://, quic://), the broker (nats://), or both for a device on
the broker with point-to-point peers: chosen by the addresses' schemes alone."""


class RunInterrupted(RuntimeProtocolError):
    """The run was stopped from outside (`interrupt`: a signal to `aura-choreo run`) before the role
    ended; its peers see it as a peer that went silent."""


@dataclass(frozen=True)
class RunOutcome:
    """How one role's run ended (the JSON of `run --json`, SPEC §5.6)."""

    deployment: Deployment
    ok: bool
    events: tuple[TraceEvent, ...] = ()
    error: AuraChoreoError | None = None
    result: Any = field(default=None, compare=False)
    guards: GuardExtension | None = field(default=None, compare=False)
    """The guard chain the role ran with (its metrics, journal store)."""
    connections: int = 0
    """Connections authenticated during the run (more than the peers: some were re-established)."""
    refusals: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        d = self.deployment
        document: dict[str, object] = {
            "ok": self.ok,
            "role": d.role,
            "device": d.device,
            "session": d.session,
            "protocol": d.protocol.qualified_name,
            "protocol_hash": d.protocol_hash,
            "trace": [_trace_entry(d.role, e) for e in self.events],
        }
        document["network"] = {"connections": self.connections, "refusals": list(self.refusals)}
        if self.guards is not None:
            metrics = self.guards.chain.metrics
            document["guards"] = {
                "receipts_verified": metrics.receipts_verified,
                "receipts_rejected": metrics.receipts_rejected,
                "facts_merged": metrics.facts_merged,
            }
        if self.error is not None:
            document["error"] = error_json(self.error, d.role)
        return document


@dataclass(frozen=True)
class DeviceNetwork:
    """One device's network presence in this process, shared by every session it runs here: one
    transport (one NATS server connection, or one connection per peer device) and one `Node` on it."""

    device: str
    transport: DeployedTransport
    node: Node


@asynccontextmanager
async def device_network(
    deployment: Deployment, *, on_status: StatusCallback | None = None
) -> AsyncIterator[DeviceNetwork]:
    """The network presence of `deployment`'s device (its addresses and keys), open until the block
    ends; pass it to `run_deployed_role(..., network=...)` for every session of that device."""
    transport = _transport(deployment)
    transport.on_status = on_status
    async with transport, _node(transport) as node:
        yield DeviceNetwork(deployment.device, transport, node)


def _trace_entry(role: str, event: TraceEvent) -> dict[str, object]:
    peer = event.receiver if event.kind == "send" else event.sender
    return {"peer": peer, **event.to_json()}


def guard_extension_for(deployment: Deployment) -> GuardExtension:
    """The guard chain of this device: the policy's, signing with the device's own key (the
    production execution stack's, `execution.build_stack`)."""
    guards = production_stack(deployment).guards()
    assert guards is not None  # a deployment always has its policy
    return guards


def production_stack(deployment: Deployment) -> ExecutionStack:
    """The production handler stack of this deployment (SPEC §5.8): its guard chain and role effects."""
    return build_stack(deployment.protocol, deployment.policy, "production", identity=deployment.identity)


def build_session(
    deployment: Deployment,
    transport: DeployedTransport,
    *,
    peer_timeout: float | None,
    guards: GuardExtension | None = None,
) -> Session:
    """The session object of this deployment, addressed over `transport`, guarded by `guards` (by
    default the policy's chain with this device's key)."""
    guards = guards or guard_extension_for(deployment)
    extensions = guards.install(ExtensionRegistry())
    devices = {role: transport.address_of(device) for role, device in deployment.devices.items()}
    session: Session = deployment.protocol.session(
        session_id=deployment.session,
        devices=devices,
        extensions=extensions,
        peer_timeout=peer_timeout,
        trace=Trace(),
    )
    # Production role effects (SPEC §5.8): this device's key, OS randomness, its SQLite storage and
    # the journal its guard chain writes.
    return dataclasses.replace(session, effects=production_stack(deployment).effects(guards))


async def run_deployed_role(
    deployment: Deployment,
    behaviour: object = None,
    *,
    seed: int = 0,
    connect_timeout: float = 30.0,
    peer_timeout: float | None = 30.0,
    on_status: StatusCallback | None = None,
    drop_after_frames: int | None = None,
    transport_factory: Callable[[Deployment], DeployedTransport] | None = None,
    network: DeviceNetwork | None = None,
    interrupt: asyncio.Future[str] | None = None,
) -> RunOutcome:
    """Run `deployment.role` to its end; never raises an `AuraChoreoError` (it is in the outcome),
    except `DeploymentError` for a `network` of another device. A journal or device storage that
    cannot be opened is a `JournalError` in the outcome, before any connection (callers running
    many sessions get one outcome per session whatever failed; `run` reports it as a usage error).

    `behaviour` is role code as for `run_role` (a behaviour object, an async function of the
    endpoint, a `Program`) or None for the seeded default behaviour. With `network` (see
    `device_network`) the role runs on that shared transport and node and leaves them open;
    otherwise it opens its own for the run. When `interrupt` is resolved (with what stopped the run,
    e.g. a signal's name) before the role ends, the role is cancelled and its connections closed:
    the outcome's error is `RunInterrupted`, its events those of the run so far.
    """
    if network is not None and network.device != deployment.device:
        raise DeploymentError(
            f"role {deployment.role} is played by {deployment.device}, not by {network.device} "
            "whose network was given"
        )
    transport = network.transport if network is not None else (transport_factory or _transport)(deployment)
    if network is None:
        transport.on_status = transport.on_status or on_status
        transport.drop_after_frames = drop_after_frames
    try:
        # The policy's journal and this device's storage open here, before any connection: a file
        # that cannot be opened (`JournalError`, naming it) ends the run at once, in its outcome. The
        # storage would otherwise open at the role's first store effect, after its peers joined.
        guards = guard_extension_for(deployment)
        session = build_session(deployment, transport, peer_timeout=peer_timeout, guards=guards)
        session.effects.resources(deployment.device)
    except AuraChoreoError as error:
        return RunOutcome(deployment, False, (), error)

    async def play(node: Node) -> Any:
        endpoint = session.endpoint(deployment.role, node, device=deployment.device)
        try:
            endpoint.start()  # the capability manifest: refused before any connection
            refuse_certain_overspend(deployment, guards)  # likewise a flow budget every run exceeds
            await transport.open_session(
                deployment.binding(), peers=set(deployment.exchanges_with), timeout=connect_timeout
            )
            if on_status is not None:
                on_status(f"session {deployment.session}: all peers ready, running {deployment.role}")
            middleware = [] if on_status is None else [_status_middleware(on_status)]
            if behaviour is not None:
                middleware.append(user_code_errors(deployment.role, behaviour, deployment.session))
            try:
                result = await run_role(endpoint, behaviour, seed=seed, middleware=middleware)
            except Exception as exc:  # imperative role code raising: the user's fault, typed
                failure = exc if behaviour is None else as_behaviour_error(exc, behaviour, deployment.role)
                if failure is exc:
                    raise
                raise failure from exc
        except BaseException:
            endpoint.close(ok=False)
            transport.close_session(deployment.session)
            raise
        transport.close_session(deployment.session)
        return result

    async def played() -> Any:
        if network is not None:
            return await play(network.node)
        async with transport, _node(transport) as node:
            return await play(node)

    try:
        if interrupt is None:
            result = await played()
        else:
            result = await _unless(interrupt, played(), deployment)
    except AuraChoreoError as error:
        return RunOutcome(
            deployment,
            False,
            _own_events(session, deployment),
            error,
            guards=guards,
            connections=transport.connections_made,
            refusals=tuple(transport.refusals),
        )
    return RunOutcome(
        deployment,
        True,
        _own_events(session, deployment),
        None,
        result,
        guards=guards,
        connections=transport.connections_made,
        refusals=tuple(transport.refusals),
    )


async def _unless(interrupt: asyncio.Future[str], work: Awaitable[Any], deployment: Deployment) -> Any:
    """`work`'s result, unless `interrupt` resolves first: then `work` is cancelled (and has closed the
    session and its transport) and `RunInterrupted` is raised."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.wait({task, interrupt}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # our caller was cancelled: so is the role
        task.cancel()
        raise
    if task.done():
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    raise RunInterrupted(
        f"stopped by {interrupt.result()} before the role ended",
        role=deployment.role,
        session=deployment.session,
    )


def _status_middleware(on_status: StatusCallback) -> Callable[[Handler], Handler]:
    """A handler middleware printing one line per step (what `run` shows on a terminal)."""

    class StatusLines:
        def __init__(self, inner: Handler) -> None:
            self.inner = inner
            self.steps = 0

        async def handle(self, effect: Effect) -> Any:
            self.steps += 1
            result = await self.inner.handle(effect)
            on_status(f"step {self.steps}: {describe_effect(effect)}")
            return result

    return StatusLines


class _EnvelopeHead(msgspec.Struct, array_like=True):
    """The first fields of the session layer's `Envelope` (msgspec ignores the rest of the array)."""

    version: int
    kind: int
    session: str
    protocol: str
    sender: str


_HEAD = msgspec.msgpack.Decoder(_EnvelopeHead)


def envelope_origin(frame: bytes) -> tuple[str, str] | None:
    """(session, sender role) of an envelope frame, for the transport's per-session check."""
    try:
        head = _HEAD.decode(frame)
    except msgspec.DecodeError:
        return None
    return head.session, head.sender


class EnvelopeOrigin:
    """`envelope_origin` for one transport and its node, decoding each data frame once, not twice.

    The carrier asks for a data frame's origin, then hands the same frame object to the node, which
    decodes it again: here the envelope decoded for the check is kept for the node's decode of that
    very frame (`Node(decode=...)`). Same answers as before: a frame that is no whole envelope gets
    what `envelope_origin` says of its head, and the node decodes it (and counts it garbage) itself.
    """

    __slots__ = ("_decode", "_envelope", "_frame")

    def __init__(self, decode: Callable[[bytes], Envelope] = decode_envelope) -> None:
        self._decode = decode
        self._frame: bytes | None = None
        self._envelope: Envelope | None = None

    def __call__(self, frame: bytes) -> tuple[str, str] | None:
        try:
            envelope = self._decode(frame)
        except WireError:
            self._frame = self._envelope = None
            return envelope_origin(frame)
        self._frame, self._envelope = frame, envelope
        return envelope.session, envelope.sender

    def decode(self, frame: bytes) -> Envelope:
        """The node's decode: the envelope the check just decoded from this frame object, else a decode."""
        envelope = self._envelope
        if frame is self._frame and envelope is not None:
            self._frame = self._envelope = None
            return envelope
        return self._decode(frame)


def _transport(deployment: Deployment) -> DeployedTransport:
    """The transport the addresses' schemes call for (`transports.mixed` has the rule for mixing)."""
    own, peers = own_address(deployment), deployment.peers
    # Point-to-point, a peer on the broker has no address to dial: it dials us.
    p2p_peers = {
        d: dataclasses.replace(p, address=None) if on_broker(p.address) else p for d, p in peers.items()
    }
    if not on_broker(own):
        return NetworkTransport(deployment.identity, p2p_peers, listen=own, frame_origin=EnvelopeOrigin())
    assert own is not None
    broker = NatsTransport(deployment.identity, peers, server=own)
    broker_devices = frozenset(d for d, p in peers.items() if broker_pair(own, p.address))
    if deployment.exchanges_with <= broker_devices:
        return broker
    p2p = NetworkTransport(deployment.identity, p2p_peers, listen=None, frame_origin=EnvelopeOrigin())
    return MixedTransport(p2p, broker, broker_devices)


def _node(transport: DeployedTransport) -> Node:
    """The device's node on `transport`, sharing the decode of each frame with its origin check."""
    carrier = transport.p2p if isinstance(transport, MixedTransport) else transport
    origin = getattr(carrier, "frame_origin", None)
    decode = origin.decode if isinstance(origin, EnvelopeOrigin) else decode_envelope
    return Node(transport, transport.local_address, decode=decode)


def own_address(deployment: Deployment) -> str | None:
    """This device's address; a device without one joins the broker its peers are on, if any."""
    if deployment.listen is not None:
        return deployment.listen
    brokers = sorted(p.address for p in deployment.peers.values() if p.address and on_broker(p.address))
    return brokers[0] if brokers else None


def _own_events(session: Session, deployment: Deployment) -> tuple[TraceEvent, ...]:
    """This role's events, timed by the wall clock (the loop's clock means nothing to other hosts)."""
    offset = time.time() - asyncio.get_running_loop().time()
    return tuple(
        dataclasses.replace(e, time=round(e.time + offset, 6))
        for e in session.trace.events
        if e.role == deployment.role and e.session == deployment.session
    )
