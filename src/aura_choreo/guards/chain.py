"""The guard chain (SPEC §5.3): Cap -> Flow -> Leakage -> JournalCoupler -> Receipt, around each send.

Two phases around the transport:
1. `prepare(send)` runs every stage in order. A stage that denies raises its typed error and leaves the
   budgets of the stages before it as they were, so a capability denial charges nothing and a budget
   denial writes no fact. Once every stage allowed the send, flow and leakage are charged, the
   send's facts get their ids if they ride on it (a journal delta; the others get theirs when it
   commits), and the receipt is issued.
2. The caller hands the attachments to the transport, then calls `commit(prepared)` if the transport
   accepted the frame (facts written in one transaction) or `abort(prepared)` if it refused it (no fact
   written, the receipt's place in its chain given back; leakage stays charged, SPEC §5.3; flow stays
   charged because `spent` only grows within an epoch, which keeps replicas mergeable).
On the receiving device, `accept(...)` verifies the receipt and merges a piggybacked journal delta.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from aura_choreo.errors import CapabilityDenied, ForgedFact, ReceiptError, RuntimeProtocolError
from aura_choreo.guards.attachments import Attachments as Attachments  # re-exported: callers import it here
from aura_choreo.guards.capabilities import CapabilityPolicy, DeviceCapabilities, check_manifest
from aura_choreo.guards.device import DeviceGuards as DeviceGuards  # re-exported: policies build them
from aura_choreo.guards.metrics import GuardMetrics
from aura_choreo.guards.profile import GuardProfile, GuardProfiles
from aura_choreo.guards.route import PreparedSend as PreparedSend  # re-exported: callers import them here
from aura_choreo.guards.route import SendRoute
from aura_choreo.guards.send import OutgoingSend as OutgoingSend
from aura_choreo.guards.send import receipt_channel as receipt_channel
from aura_choreo.journal import Fact, JournalStore, event_to_json
from aura_choreo.journal.group import on_real_clock
from aura_choreo.projection.local_types import AnnotationMap

_MAX_ROUTES = 4096
"""Kinds of send whose routes a chain keeps (bounded: long-running processes see roles come and go)."""
T = TypeVar("T")


@dataclass
class GuardChain:
    """The guard chain for a set of devices (one process's devices), with per-label profiles.

    `devices` is filled on demand by `new_device` for devices no policy mentions.
    """

    capabilities: CapabilityPolicy
    devices: dict[str, DeviceGuards] = field(default_factory=dict)
    profiles: GuardProfiles = field(default_factory=GuardProfiles)
    metrics: GuardMetrics = field(default_factory=GuardMetrics)
    signing: bool = True
    new_device: Callable[[str], DeviceGuards] = DeviceGuards
    store: JournalStore | None = None
    """Where session traces go (`record_trace`); the policy's journal store."""
    public_keys: Mapping[str, bytes] = field(default_factory=dict)
    """Pinned public keys of remote devices (their private keys live in other processes): trusted over
    any key generated here. `Policy.build_chain` decides which devices these are."""
    _routes: dict[tuple[object, ...], SendRoute] = field(default_factory=dict, init=False, repr=False)

    def device(self, name: str) -> DeviceGuards:
        guards = self.devices.get(name)
        if guards is None:
            guards = self.devices[name] = self.new_device(name)
            self._introduce(guards)
        return guards

    def _introduce(self, new: DeviceGuards) -> None:
        # Every device of the chain knows every other's public key (the keyring of this process).
        for other in self.devices.values():
            other.verifier.add_key(new.device, self.public_keys.get(new.device, new.key.public_bytes()))
            new.verifier.add_key(other.device, self.public_keys.get(other.device, other.key.public_bytes()))
        for device, public_key in self.public_keys.items():
            new.verifier.add_key(device, public_key)

    def register_message_guard(self, label: str, profile: GuardProfile) -> None:
        """Guard messages labelled `label` with `profile` instead of their annotations."""
        self.profiles.register_message_guard(label, profile)
        self._routes.clear()

    def revoke(self, device: str, *capabilities: str) -> None:
        """Take capabilities from a device; its next send needing one of them is denied."""
        for layer in self._held_layers():
            layer.revoke(device, *capabilities)

    def grant(self, device: str, *capabilities: str) -> None:
        """Give a device capabilities (refining layers may still deny them)."""
        for layer in self._held_layers():
            layer.grant(device, *capabilities)

    def _held_layers(self) -> list[DeviceCapabilities]:
        layers = [layer for layer in self.capabilities.layers if isinstance(layer, DeviceCapabilities)]
        if not layers:
            raise ValueError("this chain's capability policy has no device layer to grant or revoke in")
        return layers

    def check_session_start(
        self, *, role: str, device: str, manifest: Iterable[str], context: str, session: str | None = None
    ) -> None:
        """Refuse a session (`CapabilityDenied`) if `device` lacks any capability of the role's manifest."""
        started = time.perf_counter()
        try:
            check_manifest(
                self.capabilities,
                role=role,
                device=device,
                context=context,
                manifest=manifest,
                session=session,
            )
        except CapabilityDenied:
            self.metrics.denied("capability")
            raise
        finally:
            self.metrics.timed("capability", time.perf_counter() - started)

    def route(
        self,
        protocol: str,
        role: str,
        device: str,
        peer_role: str,
        peer_device: str,
        label: str,
        annotations: AnnotationMap = (),
    ) -> SendRoute:
        """The `SendRoute` of one kind of send: its plan and everything else not depending on the
        message, decided once (kept for at most `_MAX_ROUTES` kinds of send at a time)."""
        key = (label, annotations, protocol, role, device, peer_role, peer_device)
        route = self._routes.get(key)
        if route is None:
            if len(self._routes) >= _MAX_ROUTES:
                self._routes.clear()
            plan = self.profiles.plan_for(label, annotations)
            route = SendRoute(
                self, plan, self.device(device), protocol=protocol, role=role, peer_role=peer_role,
                peer_device=peer_device, label=label, annotations=annotations,
            )  # fmt: skip
            self._routes[key] = route
        return route

    def prepare(self, send: OutgoingSend) -> PreparedSend:
        """Run every stage in order; raise the first denial (typed) with nothing charged or written.

        The label's `GuardPlan` says which stages have work: a default-profile send only pays its flow
        cost (and gets its receipt when signing)."""
        route = self.route(
            send.protocol, send.role, send.device, send.peer_role, send.peer_device, send.label,
            send.annotations,
        )  # fmt: skip
        return route.prepare(send.session, send.budget_context, lambda: send.step)

    def commit(self, prepared: PreparedSend) -> tuple[Fact, ...]:
        """The transport accepted the send: write its facts, with its flow charge, in one transaction.
        Its journal delta counts as delivered only once the peer's version vector says so (`accept`):
        the transport may still lose it."""
        self.commit_send(prepared := _reserved(prepared))
        return () if prepared.pending is None else prepared.pending.facts

    def commit_send(self, prepared: PreparedSend) -> None:
        """`commit`, without building the facts to return (the journal builds them when read)."""
        pending = prepared.pending
        metrics = self.metrics
        route = prepared.route
        if pending is not None:
            route.sender.journal.append(pending, prepared.budget_rows)
            metrics.facts_committed += pending.size
        elif route.write_facts:  # facts that rode on nothing: they take their ids now
            route.sender.journal.append_next(route.facts, prepared.session, prepared.budget_rows[0])
            metrics.facts_committed += route.fact_count
        metrics.sends_committed += 1

    def group_commits(self, prepared: PreparedSend) -> bool:
        """Whether `commit_durable` shares a disk sync for this send: it has facts, its journal is a file
        and the loop runs on the real clock. (A loop with its own clock, the simulator's virtual time,
        stays deterministic and never waits on a thread: its sends commit at once.)"""
        route = prepared.route
        if not route.durable or (prepared.pending is None and not route.write_facts):
            return False
        return on_real_clock()

    async def commit_durable(self, prepared: PreparedSend) -> tuple[Fact, ...]:
        """`commit`, sharing the disk sync with concurrent sends when the journal is a file (group
        commit): returns once the facts are on disk. Otherwise (`group_commits`) it commits at once."""
        if not self.group_commits(prepared):
            return self.commit(prepared)
        prepared = _reserved(prepared)
        assert prepared.pending is not None  # `group_commits`: the send has facts
        journal = prepared.route.sender.journal
        facts = await journal.commit_grouped(prepared.pending, prepared.budget_rows)
        self.metrics.facts_committed += len(facts)
        self.metrics.sends_committed += 1
        return facts

    def abort(self, prepared: PreparedSend) -> None:
        """The transport refused the send: no fact is written, the receipt's place in its chain is given
        back; leakage and flow stay charged."""
        if prepared.pending is not None or prepared.attachments.receipt is not None:
            sender = prepared.route.sender
            if prepared.pending is not None:
                sender.journal.release(prepared.pending)
            if prepared.attachments.receipt is not None:
                sender.signer.release(prepared.attachments.receipt)
        self.metrics.sends_aborted += 1

    async def send_guarded(self, send: OutgoingSend, transmit: Callable[[Attachments], Awaitable[T]]) -> T:
        """`prepare`, `transmit(attachments)`, then `commit_durable` (it returned) or `abort` (it raised).

        Returns once the send's facts are committed: with a file journal, concurrent sends share one
        transaction (group commit), and a send is acknowledged only when its batch is on disk."""
        prepared = self.prepare(send)
        try:
            result = await transmit(prepared.attachments)
        except BaseException:
            self.abort(prepared)
            raise
        await self.commit_durable(prepared)
        return result

    def accept(
        self,
        *,
        sender_device: str,
        receiver_device: str,
        attachments: Attachments,
        role: str | None = None,
        session: str | None = None,
        channel: str | None = None,
        delta_allowed: bool | None = None,
    ) -> tuple[Fact, ...]:
        """On the receiving device: verify the receipt (if signing) and merge the journal delta.

        `channel` (see `receipt_channel`) is the channel the message arrived on; a receipt naming
        another one is rejected. `delta_allowed=False` says the message's step merges no journal (no
        `journal_merge`): a delta on it is refused, as the sender's own chain would never have put it
        there (None: not checked). Returns the facts that were new to the receiver's
        journal. Raises `ReceiptError`, `ForgedFact`.
        """
        if not self.signing and attachments.journal_delta is None:
            return ()  # nothing to check or merge (the fast path of unsigned sends)
        receiver = self.device(receiver_device)
        self.device(sender_device)  # make sure its public key is known
        with _Stage(self.metrics, "receipt"):
            if self.signing:
                if attachments.receipt is None:
                    self.metrics.receipts_rejected += 1
                    raise ReceiptError(
                        f"message from {sender_device} carries no receipt", role=role, session=session
                    )
                if attachments.receipt.sender != sender_device:
                    self.metrics.receipts_rejected += 1
                    raise ReceiptError(
                        f"receipt names sender {attachments.receipt.sender}, "
                        f"but the message came from {sender_device}",
                        role=role,
                        session=session,
                    )
                if channel is not None and attachments.receipt.context != channel:
                    self.metrics.receipts_rejected += 1
                    raise ReceiptError(
                        f"receipt from {sender_device} is for {attachments.receipt.context}, "
                        f"but the message came on {channel}",
                        role=role,
                        session=session,
                    )
                try:
                    receiver.verifier.verify(attachments.receipt, role=role, session=session)
                except ReceiptError:
                    self.metrics.receipts_rejected += 1
                    raise
                self.metrics.receipts_verified += 1
        merged: tuple[Fact, ...] = ()
        if attachments.journal_delta is not None:
            if delta_allowed is False:
                raise ForgedFact(
                    f"a message from {sender_device} carries a journal delta, but its step merges "
                    "none (no journal_merge): refused, nothing merged",
                    role=role,
                    session=session,
                )
            with _Stage(self.metrics, "journal"):
                try:
                    merged = receiver.journal.merge(
                        attachments.journal_delta,
                        from_device=sender_device,
                        sender_known=attachments.journal_known,
                    )
                except ForgedFact as exc:
                    raise ForgedFact(exc.detail, role=role, session=session) from None
                if attachments.journal_known is not None:
                    receiver.journal.note_known(sender_device, attachments.journal_known)
                self.metrics.facts_merged += len(merged)
        return merged

    def record_trace(self, session: str, protocol: str, events: Iterable[object]) -> None:
        """Store a session's trace events alongside the journal (needs a `store`)."""
        if self.store is None:
            raise ValueError("this guard chain has no journal store to record traces in")
        self.store.append_trace_events(session, protocol, (event_to_json(e) for e in events))


def _reserved(prepared: PreparedSend) -> PreparedSend:
    """`prepared` with its facts reserved: those that rode on nothing take their ids now (at commit)."""
    route = prepared.route
    if prepared.pending is not None or not route.write_facts:
        return prepared
    return prepared._replace(pending=route.sender.journal.reserve_template(route.facts, prepared.session))


class _Stage:
    """Times one stage into the metrics and counts its denials."""

    def __init__(self, metrics: GuardMetrics, stage: str) -> None:
        self._metrics = metrics
        self._stage = stage
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self._metrics.timed(self._stage, time.perf_counter() - self._started)
        if exc_type is not None and issubclass(exc_type, RuntimeProtocolError):
            self._metrics.denied(self._stage)
