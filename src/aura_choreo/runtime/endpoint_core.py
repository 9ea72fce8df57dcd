"""The plumbing under an endpoint's imperative API (`endpoint.Endpoint`): taking messages off the
inbox (stale and late drops, label matching), accepting them through the monitor, arming waits and
peer deadlines, and the step context, trace records and violations the API's calls share. One role's
state lives here; `Endpoint` adds the calls role code makes (sends: `endpoint_send.EndpointSend`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Collection, Mapping
from sys import getrecursionlimit
from typing import TYPE_CHECKING, Any

from aura_choreo.effects.api import Effects
from aura_choreo.errors import PeerTimeout, ProtocolViolation
from aura_choreo.projection.local_types import Branch, Choose, LocalStep, LocalType, Recv, annotation_value
from aura_choreo.runtime.deadlines import arrival
from aura_choreo.runtime.durations import format_seconds
from aura_choreo.runtime.extensions import Extension, ExtensionRegistry, StepContext
from aura_choreo.runtime.fact_guards import choice_fact_names, fact_view, facts_key
from aura_choreo.runtime.inbox import Inbox, InboxTimeout, Queued, Waiter
from aura_choreo.runtime.messages import MessageSpec
from aura_choreo.runtime.monitor import Monitor, TimeoutToken
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.step_context import (
    EndpointStats,
    SendHooks,
    new_context,
    parse_timeout_ms,
    received_attachments,
)
from aura_choreo.runtime.trace import Trace
from aura_choreo.runtime.wire import MAX_RECURSION, Envelope, WireError, decode_payload
from aura_choreo.transports.base import Address
from aura_choreo.transports.inmemory import InMemoryTransport

if TYPE_CHECKING:
    from aura_choreo.runtime.saga import Saga
    from aura_choreo.runtime.session_data import SessionData

__all__ = ["DirectPeer", "EndpointCore"]


class DirectPeer:
    """A peer endpoint's inbox in this process, found through the in-memory transport (`target`):
    a send puts its envelope there itself while the inbox is open and the transport's `epoch` is
    the one it was found in (no attach or detach since). The payload stays encoded: the receiver
    decodes it against its step's type, as from the wire."""

    __slots__ = ("epoch", "inbox", "transport")

    def __init__(self, inbox: Inbox, transport: InMemoryTransport) -> None:
        self.inbox = inbox
        self.transport = transport
        self.epoch = transport.epoch


class EndpointCore:
    """One role's endpoint state and the plumbing its API shares (see the module docstring)."""

    __slots__ = (
        "_devices",
        "_effects",
        "_ended",
        "_extensions",
        "_facts_loaded_at",
        "_loop",
        "_new_future",
        "_now",
        "_peers",
        "_plain_receives",
        "_receive_hooks",
        "_record_event",
        "_saga",
        "_send_hooks",
        "_sends",
        "_seq",
        "_specs",
        "_started",
        "_timeout_annotations",
        "_timeouts",
        "_trace",
        "device",
        "env",
        "inbox",
        "last_deadline",
        "last_message",
        "last_sender",
        "last_sender_label",
        "local_type",
        "monitor",
        "node",
        "received",
        "role",
        "session",
        "stats",
    )

    session: SessionData
    role: str
    node: Node
    device: str
    local_type: LocalType
    env: dict[str, object]
    monitor: Monitor
    received: dict[str, object]
    inbox: Inbox
    stats: EndpointStats
    last_deadline: float | None
    last_message: Any
    last_sender: str
    last_sender_label: str
    _seq: dict[str, int]
    _specs: dict[int, MessageSpec]
    _sends: dict[int, tuple[MessageSpec, Address, int]]
    """Per send step (by id): its spec, the peer's address, the room for its payload in a frame."""
    _peers: dict[str, DirectPeer | None]
    """Per peer role: its inbox, once sends handed two envelopes to it in this process (None after
    the first)."""
    _timeouts: list[TimeoutToken]
    _saga: Saga
    _loop: asyncio.AbstractEventLoop
    _trace: Trace
    _record_event: Callable[[tuple[str, str, str, str, str, str, int, float, str]], None]
    _now: Callable[[], float]
    _new_future: Callable[[], asyncio.Future[Any]]
    _extensions: ExtensionRegistry | None
    _send_hooks: dict[int, SendHooks] | None
    """Per send step (by id): the extensions with send hooks and the step's part of their context;
    None when no registered extension has a send hook (decided once, when the endpoint is made)."""
    _receive_hooks: dict[int, SendHooks] | None
    """Per receive step (by id): the extensions with an `on_receive` and the step's part of their
    context (as for a send); None when no registered extension has an `on_receive`: a receive then
    builds no context and no attachments."""
    _plain_receives: bool
    """Whether some `on_receive` wants messages without attachments too (`Extension.attachments_only`);
    if not, such a message builds no context either."""
    _devices: Mapping[str, Address]
    _started: tuple[Extension, ...] | None
    _ended: bool
    _timeout_annotations: bool
    _effects: Effects | None
    _facts_loaded_at: int
    """The step count at which guard facts were last loaded (-1: never)."""

    def _init_effects(self) -> None:
        self._effects = None  # built on first use: most roles never use them
        self._facts_loaded_at = -1

    @property
    def effects(self) -> Effects:
        """This role's effects (SPEC §5.8): `now`, `sleep`, `random`, `sign`, `verify`, `store_get`,
        `store_put`, `journal_facts`, through the session's effect stack (built on first use)."""
        effects = self._effects
        if effects is None:
            session = self.session
            effects = self._effects = Effects(session.effects.handler_for(session.id, self.role, self.device))
        return effects

    async def load_guard_facts(self) -> None:
        """Read, through `effects.journal_facts`, the facts the guards of the choice this role is at
        read, for the behaviour deciding and the monitor checking it (`runtime.fact_guards`). Once per
        step: deciding and then choosing read the journal once."""
        if self._facts_loaded_at == self.monitor.step_count:
            return
        self._facts_loaded_at = self.monitor.step_count
        for step in self.monitor.next_steps():
            # Only this choice's guards are looked at (a walk of the whole local type per endpoint
            # cost more than the rest of setting the endpoint up).
            if isinstance(step, Choose) and (step.expr is not None or any(b.guard for b in step.branches)):
                for name in choice_fact_names(step):
                    facts = await self.effects.journal_facts(name)
                    self.env[facts_key(name)] = [fact_view(fact) for fact in facts]

    def _next_seq(self, to: str) -> int:
        """The next sequence number on the channel to `to` (data and saga control share it)."""
        seq = self._seq.get(to, 0) + 1
        self._seq[to] = seq
        return seq

    # ------------------------------------------------------------------ receiving

    def _take(self, from_: str, label: str | None, among: Collection[str] | None) -> Envelope | None:
        queue = self.inbox.queues.get(from_)
        if not queue:
            self._check_control()
            return None
        monitor = self.monitor
        if label is None:
            self._drop_stale(queue)
            if not queue or monitor.sequential:
                return queue.popleft()[1] if queue else None
        ahead: list[str] = []
        i = 0
        while i < len(queue):
            envelope = queue[i][1]
            if envelope.label == label or (among is not None and envelope.label in among):
                del queue[i]
                return envelope
            if self._drop_expected(envelope):
                del queue[i]
                continue
            if not monitor.accepts_receive(envelope.sender, envelope.label):
                if not monitor.receivable_later(envelope.sender, envelope.label, ahead):
                    del queue[i]
                    return envelope  # no step will ever take it: accepting it raises the violation
            elif label is None and among is None:
                del queue[i]
                return envelope  # the first message from `from_` some step takes now
            # Another parallel branch's message (now, or after that branch's next steps): it waits.
            ahead.append(envelope.label)
            i += 1
        return None

    def _drop_stale(self, queue: deque[Queued]) -> None:
        """Drop quorum stragglers and late timeout messages at the head of a queue."""
        monitor = self.monitor
        while queue and monitor.drops_pending:
            if not self._drop_expected(queue[0][1]):
                return
            queue.popleft()

    def _drop_expected(self, envelope: Envelope) -> bool:
        key = (envelope.sender, envelope.label)
        monitor = self.monitor
        if monitor.take_discard(*key):
            self.stats.discarded += 1
            self._record("discard", envelope.sender, self.role, envelope.label, envelope.seq)
            self._on_dropped(envelope)
            return True
        if monitor.is_late(*key):
            self.stats.late += 1
            self._record("late", envelope.sender, self.role, envelope.label, envelope.seq)
            self._on_dropped(envelope)
            return True
        return False

    def _on_dropped(self, envelope: Envelope) -> None:
        """A discarded or late message's attachments still reach the every-step extensions: its receipt
        extends the sender's chain (the next one would not, otherwise) and its journal delta merges."""
        if self._receive_hooks is not None and (envelope.receipt or envelope.journal or envelope.ext):
            assert self._extensions is not None
            self._run_receive_extensions(self._extensions.receivers(()), (), envelope, None)

    def _accept(self, envelope: Envelope) -> Any:
        sender, label = envelope.sender, envelope.label
        monitor = self.monitor
        step = monitor.on_receive(sender, label)
        spec = self._specs.get(id(step)) or self._spec(step, label, step.payload)
        payload = envelope.payload
        try:
            # A payload of n bytes nests at most n deep (a MessagePack array or map takes a byte at
            # least), so one of up to MAX_RECURSION bytes needs no bound, whatever the limit.
            if envelope.big or (len(payload) > MAX_RECURSION and getrecursionlimit() > MAX_RECURSION):
                message = decode_payload(spec.decoder, spec.cls, payload, envelope.big)
            else:
                message = spec.decoder.decode(payload)  # the common case, inlined
        except WireError as exc:
            got = f"{label} from {sender} with a bad payload: {exc}"
            raise self._violation(spec.signature(), got) from None
        bind = spec.bind_received
        if bind is not None:
            bind(message, monitor.env, self.received)
        if self._receive_hooks is not None and (
            self._plain_receives or envelope.receipt or envelope.journal or envelope.ext
        ):
            self._on_receive_extensions(step, envelope, message)
        self.last_message = message
        self.last_sender = sender
        self.last_sender_label = label
        deadline_ms = envelope.deadline_ms
        self.last_deadline = None if deadline_ms is None else arrival(deadline_ms, self._now())
        session = self.session
        self._record_event(
            ("recv", session.id, self.role, sender, self.role, label, envelope.seq, self._now(),
             session.protocol)
        )  # fmt: skip
        return message

    def _on_receive_extensions(self, step: Recv | Branch, envelope: Envelope, message: object) -> None:
        hooks = self._receive_hooks
        assert hooks is not None
        sender, label = envelope.sender, envelope.label
        hooked = hooks.get(id(step))
        if hooked is None or hooked[1][4] != sender or hooked[1][5] != label:
            hooked = self._hook_receive(step, sender, label)
        extensions, head, peer_device = hooked
        if extensions:  # the step's fixed fields, then the payload, direction, step count, device
            ctx = new_context(StepContext, (*head, message, "recv", self.monitor.step_count, peer_device))
            self._call_on_receive(extensions, ctx, envelope)

    def _hook_receive(self, step: Recv | Branch, sender: str, label: str) -> SendHooks:
        """A receive step's extensions with `on_receive` and its context's fixed fields (kept per step;
        worked out again if a message of another sender or label takes the same step)."""
        assert self._receive_hooks is not None and self._extensions is not None
        annotations = step.annotations if isinstance(step, Recv) else ()
        session = self.session
        head = (session.protocol, session.id, self.role, self.device, sender, label, annotations)
        receivers = self._extensions.receivers(annotations)
        hooked = self._receive_hooks[id(step)] = (receivers, head, session.address(sender))
        return hooked

    def _run_receive_extensions(
        self,
        extensions: tuple[Extension, ...],
        annotations: Any,
        envelope: Envelope,
        message: object,
    ) -> None:
        if extensions:
            ctx = self._step_context(envelope.sender, envelope.label, annotations, message, "recv")
            self._call_on_receive(extensions, ctx, envelope)

    def _call_on_receive(
        self, extensions: tuple[Extension, ...], ctx: StepContext, envelope: Envelope
    ) -> None:
        attachments = received_attachments(envelope.receipt, envelope.journal, envelope.ext)
        for extension in extensions:
            extension.on_receive(ctx, attachments)

    async def _wait(self, senders: Collection[str]) -> None:
        waiter = self._arm_wait(senders)
        try:
            await waiter.future
        except InboxTimeout:
            raise self._peer_timeout(waiter) from None
        finally:
            self.inbox.remove_waiter(waiter)
        if self.inbox.control:
            self._check_control()

    def _arm_wait(self, senders: Collection[str], expected_from: str | None = None) -> Waiter:
        """Check the wait makes sense, then register it (with its peer deadline)."""
        if expected_from is not None and not self.monitor.expects_from(expected_from):
            raise self._violation(self.monitor.expected(), f"receive from {expected_from}")
        if self.inbox.control:
            self._check_control()  # a saga verdict may already be queued: do not sleep past it
        timeout = self._receive_timeout(senders) if self._timeout_annotations else self.session.peer_timeout
        deadline = None if timeout is None else self._now() + timeout
        return self.inbox.add_waiter(senders, deadline, timeout, self._loop)

    def _peer_timeout(self, waiter: Waiter) -> PeerTimeout:
        who = " or ".join(waiter.senders or ())
        return PeerTimeout(
            f"{who} sent nothing within {format_seconds(waiter.timeout or 0)}"
            f" (expected {self.monitor.expected()})",
            role=self.role,
            session=self.session.id,
            step=self._step(),
        )

    def _receive_timeout(self, senders: Collection[str]) -> float | None:
        if not self._timeout_annotations:
            return self.session.peer_timeout
        for head in self.monitor.next_steps():
            if isinstance(head, Recv) and head.from_ in senders:
                ms = parse_timeout_ms(annotation_value(head.annotations, "timeout"))
                if ms is not None:
                    return ms / 1000
        return self.session.peer_timeout

    # ------------------------------------------------------------------ saga control

    def _check_control(self) -> None:
        """Inside a try body, abort at a receive when the saga must compensate."""
        if self.inbox.control and self.monitor.tries:
            self._saga.check()

    # ------------------------------------------------------------------ helpers

    def _spec(self, step: LocalStep | Branch, label: str, payload: Any) -> MessageSpec:
        return self.session.catalog.step_spec(step, label, payload)  # fills `_specs`, the catalog's

    def _step(self) -> str:
        return f"step {self.monitor.step_count + 1}"

    def _violation(self, expected: str, got: str) -> ProtocolViolation:
        return ProtocolViolation(self.role, expected, got, session=self.session.id, step=self._step())

    def _step_context(
        self, peer: str, label: str, annotations: Any, payload: object, direction: str
    ) -> StepContext:
        session = self.session
        return new_context(  # positional: the fields' order (protocol, session, role, ...)
            StepContext,
            (session.protocol, session.id, self.role, self.device, peer, label, annotations, payload,
             direction, self.monitor.step_count, session.address(peer)),
        )  # fmt: skip

    def _record(self, kind: str, sender: str, receiver: str, label: str, seq: int) -> None:
        session = self.session
        self._trace.record_fields(
            kind, session.id, self.role, sender, receiver, label, seq, self._loop.time(), session.protocol
        )

    def _record_control(self, kind: str, sender: str, receiver: str, label: str, seq: int) -> None:
        """Record the send or receipt of a saga control message."""
        session = self.session
        self._trace.record_control(
            kind, session.id, self.role, sender, receiver, label, seq, self._loop.time(), session.protocol
        )
