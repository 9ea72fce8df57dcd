"""Endpoints: one role's side of one session, written imperatively.

    async with session.endpoint("Coordinator", node) as ep:
        await ep.send("Participant", PrepareRequest(transaction_id=7))
        reply = await ep.recv("Participant")
        label = await ep.offer("Participant")

Every call is checked by the role's monitor before anything reaches the wire, and payloads are
type-checked on send and on receipt: a wrong call raises `ProtocolViolation` naming role, session and
step. Leaving the `async with` block checks that the role ran to its end with nothing left unread.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import msgspec

from aura_choreo.diagnostics import did_you_mean
from aura_choreo.errors import PeerTimeout, ProtocolViolation, TransportError
from aura_choreo.projection.local_types import Branch, LocalStep, Recv, Timeout, Try, annotation_value
from aura_choreo.runtime.blocks import SagaBlock, TimeoutBlock
from aura_choreo.runtime.durations import format_seconds
from aura_choreo.runtime.extensions import Extension, SessionContext, StepContext
from aura_choreo.runtime.inbox import InboxTimeout, Queued, Waiter
from aura_choreo.runtime.messages import MessageSpec, coerce_message, label_of
from aura_choreo.runtime.monitor import Monitor, TimeoutToken, TryToken
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.saga import COMMIT, COMPENSATE, DONE, FAILED, Saga, TryAborted
from aura_choreo.runtime.session import Session
from aura_choreo.runtime.wire import (
    KIND_DATA,
    WIRE_VERSION,
    Envelope,
    WireError,
    decode_payload,
    encode_payload,
)
from aura_choreo.syntax.ast import AnnotationValue

__all__ = [
    "COMMIT",
    "COMPENSATE",
    "DONE",
    "FAILED",
    "Endpoint",
    "EndpointStats",
    "SendFailed",
    "TryAborted",
    "label_of",
    "parse_timeout_ms",
]

class SendFailed(TransportError):
    """The transport refused a send the monitor already accepted; `await exc.retry()` sends it again."""

    def __init__(
        self,
        message: str,
        retry: Callable[[], Awaitable[None]],
        *,
        role: str | None = None,
        session: str | None = None,
        step: str | None = None,
    ) -> None:
        self.retry = retry
        super().__init__(message, role=role, session=session, step=step)


@dataclass
class EndpointStats:
    """What the endpoint dropped on purpose."""

    discarded: int = 0
    """Quorum stragglers received after the quorum completed."""
    late: int = 0
    """Messages of a timeout body that arrived after the role left it."""


def parse_timeout_ms(value: AnnotationValue | None) -> int | None:
    """A `timeout` annotation in milliseconds (`5000`, `"5s"`, `"500ms"`), or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        for suffix, scale in (("ms", 1), ("millis", 1), ("seconds", 1000), ("s", 1000), ("m", 60_000)):
            if text.endswith(suffix) and text[: -len(suffix)].isdigit():
                return int(text[: -len(suffix)]) * scale
        if text.isdigit():
            return int(text)
    return None


class Endpoint:
    """One role in one session over one node; see the module docstring."""

    __slots__ = (
        "_devices",
        "_ended",
        "_extensions",
        "_loop",
        "_new_future",
        "_now",
        "_record_event",
        "_saga",
        "_seq",
        "_specs",
        "_started",
        "_timeout_annotations",
        "_timeouts",
        "_trace",
        "device",
        "env",
        "inbox",
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

    def __init__(self, session: Session, role: str, node: Node, *, device: str | None = None) -> None:
        local_type = session.local_types.get(role)
        if local_type is None:
            hint = did_you_mean(role, list(session.local_types))
            raise ValueError(f"no role {role!r} in {session.protocol}" + (f"; {hint}" if hint else ""))
        self.session = session
        self.role = role
        self.node = node
        self.device = device or node.address
        self.local_type = local_type
        self.env: dict[str, object] = dict(session.params)
        self.monitor = Monitor(local_type, session=session.id, env=self.env)
        self.received: dict[str, object] = {}
        """The named payload fields this role has received, by name (the latest value of each)."""
        self.inbox = node.inbox(session.id, role)
        self.stats = EndpointStats()
        self.last_message: Any = None
        self.last_sender = ""
        self.last_sender_label = ""
        self._seq: dict[str, int] = {}
        self._specs: dict[int, MessageSpec] = {}
        self._timeouts: list[TimeoutToken] = []
        self._saga = Saga(self)
        self._loop = asyncio.get_running_loop()
        self._trace = session.trace
        self._record_event = session.trace.sink()
        self._now = _clock_of(self._loop)
        self._new_future = _future_factory(self._loop)
        self._extensions = None if session.extensions.is_empty() else session.extensions
        self._devices = session.devices
        self._started: tuple[Extension, ...] | None = None
        """The extensions whose `on_session_start` ran (None before `start`)."""
        self._ended = False
        self._timeout_annotations = any(
            isinstance(step, Recv) and annotation_value(step.annotations, "timeout") is not None
            for step in local_type.iter_steps()
        )

    # ------------------------------------------------------------------ lifetime

    async def __aenter__(self) -> Endpoint:
        try:
            self.start()
        except BaseException:
            self.close(ok=False)  # `__aexit__` does not run when entering fails
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        ok = False
        try:
            if exc_type is None:
                self.finish()
                ok = True
        finally:
            self.close(ok)

    def start(self) -> None:
        """Pre-flight: every extension's `on_session_start` (e.g. the capability manifest check).

        Runs once: `run_session` starts every endpoint before any role's code, and entering the
        endpoint's `async with` then finds it started.
        """
        if self._started is not None:
            return
        self._started = ()
        if self._extensions is None:
            return
        ctx = self._session_context()
        started: list[Extension] = []
        try:
            for extension in self._extensions.extensions():
                started.append(extension)
                extension.on_session_start(ctx)
        finally:
            self._started = tuple(started)

    def close(self, ok: bool) -> None:
        """Leave the session: every started extension's `on_session_end`, then free the inbox.

        Idempotent (`async with` calls it on the way out; `run_session` again for endpoints whose
        role was cancelled before it entered).
        """
        if self._ended:
            return
        self._ended = True
        try:
            self._end_extensions(ok)
        finally:
            self.node.release(self.session.id, self.role)

    def _end_extensions(self, ok: bool) -> None:
        if not self._started:
            return
        ctx = self._session_context()
        trace = self.session.trace
        failure: Exception | None = None
        for extension in self._started:
            try:
                extension.on_session_end(ctx, trace, ok)
            except Exception as exc:  # every extension still hears of the end; the first error wins
                failure = failure or exc
        if failure is not None:
            raise failure

    def _session_context(self) -> SessionContext:
        session = self.session
        return SessionContext(session.protocol, session.id, self.role, self.device, self.local_type)

    def finish(self) -> None:
        """Check that the role ran to its end and that no message is left unread."""
        if not self.monitor.done:
            raise self._violation(self.monitor.expected(), "the end of the role's code")
        for queue in self.inbox.queues.values():
            while queue:
                _, envelope = queue.popleft()
                if self._drop_expected(envelope):
                    continue
                raise self._violation("end", f"{envelope.label} from {envelope.sender} after the end")

    # ------------------------------------------------------------------ sending

    async def send(self, to: str, message: object, *, label: str | None = None) -> None:
        """Send `message` (a generated struct, a user object, or a label for an empty payload) to `to`.

        The payload is checked and encoded before anything changes: a refused send (wrong step, wrong
        field types, a value that cannot be encoded) leaves the monitor, the channel's sequence
        numbers and the extensions (guard chain, journal) as they were.
        """
        if label is None:
            label = message if type(message) is str else type(message).__name__
        monitor = self.monitor
        thread, step = monitor.match_send(to, label)
        spec = self._specs.get(id(step)) or self._spec(step, label, step.payload)
        msg = message if type(message) is spec.cls else coerce_message(spec, message)
        if msg is None:
            raise self._violation(spec.signature(), spec.mismatch(message))
        for name, kind in spec.exact:
            if type(getattr(msg, name)) is not kind:
                raise self._violation(spec.signature(), f"{label}({', '.join(spec.bad_fields(msg))})")
        for name, check in spec.checks:
            if not check(getattr(msg, name)):
                raise self._violation(spec.signature(), f"{label}({', '.join(spec.bad_fields(msg))})")
        try:
            payload, big = encode_payload(msg)
        except (TypeError, ValueError, RecursionError) as exc:  # e.g. a lone surrogate, deep nesting
            got = f"{label} with an unencodable value: {exc}"
            raise self._violation(spec.signature(), got) from None
        monitor.accept_send(thread, step)
        env = monitor.env
        for variable, name in spec.binds:
            env[variable] = getattr(msg, name)
        extensions: tuple[Extension, ...] = ()
        ctx: StepContext | None = None
        receipt = journal = ext = None
        if self._extensions is not None:
            extensions = self._extensions.for_step(step.annotations)
            if extensions:
                ctx = self._step_context(to, label, step.annotations, msg, "send")
                receipt, journal, ext = _attachments(extensions, ctx)
        seq = self._seq.get(to, 0) + 1  # `_next_seq`, inlined on the hot path
        self._seq[to] = seq
        session = self.session
        envelope = Envelope(
            WIRE_VERSION, KIND_DATA, session.id, session.protocol, self.role, to, label, seq,
            msgspec.Raw(payload), receipt, journal, ext, big,
        )  # fmt: skip
        try:
            await self.node.send(self._devices.get(to, to), envelope)
        except TransportError as exc:
            raise self._send_failed(exc, to, envelope, extensions, ctx) from exc
        if ctx is not None:
            _after_send(extensions, ctx, True)
        self._record_event(
            ("send", session.id, self.role, self.role, to, label, seq, self._now(), session.protocol)
        )

    async def _deliver(
        self,
        to: str,
        envelope: Envelope,
        extensions: tuple[Extension, ...],
        ctx: StepContext | None,
    ) -> None:
        try:
            await self.node.send(self.session.address(to), envelope)
        except TransportError as exc:
            raise self._send_failed(exc, to, envelope, extensions, ctx) from exc
        if ctx is not None:
            _after_send(extensions, ctx, True)
        self._record("send", self.role, to, envelope.label, envelope.seq)

    def _send_failed(
        self,
        exc: TransportError,
        to: str,
        envelope: Envelope,
        extensions: tuple[Extension, ...],
        ctx: StepContext | None,
    ) -> SendFailed:
        _after_send(extensions, ctx, False)

        async def retry() -> None:
            await self._deliver(to, envelope, extensions, ctx)

        return SendFailed(exc.detail, retry, role=self.role, session=self.session.id, step=self._step())

    def _next_seq(self, to: str) -> int:
        """The next sequence number on the channel to `to` (data and saga control share it)."""
        seq = self._seq.get(to, 0) + 1
        self._seq[to] = seq
        return seq

    # ------------------------------------------------------------------ receiving

    async def recv(self, from_: str, label: str | None = None) -> Any:
        """Receive the next message from `from_` (with `label`: the next one with that label)."""
        monitor = self.monitor
        inbox = self.inbox
        while True:
            if inbox.control:
                self._check_control()  # a saga verdict is taken at the next receive (SPEC §4.6)
            queue = inbox.queues.get(from_)
            if queue:
                if label is None and not monitor.drops_pending:
                    return self._accept(queue.popleft()[1])  # the common case
                envelope = self._take(from_, label)
                if envelope is not None:
                    return self._accept(envelope)
            # Arming the wait, inlined from `_arm_wait` because this is the hot path.
            if not monitor.expects_from(from_):
                raise self._violation(monitor.expected(), f"receive from {from_}")
            timeout = self.session.peer_timeout
            if self._timeout_annotations:
                timeout = self._receive_timeout((from_,))
            # `inbox.add_waiter` / `remove_waiter`, inlined as well.
            future = self._new_future()
            if timeout is None:
                waiter = Waiter(future, (from_,), None, None)
            else:
                deadline = self._now() + timeout
                waiter = Waiter(future, (from_,), deadline, timeout)
                if deadline < inbox.timer_at:
                    inbox.arm(self._loop, deadline)
            waiters = inbox.waiters
            waiters.append(waiter)
            try:
                await future
            except InboxTimeout:
                raise self._peer_timeout(waiter) from None
            finally:
                waiters.remove(waiter)
            if inbox.control:
                self._check_control()

    async def offer(self, from_: str) -> str:
        """Receive the message from `from_` that decides an external choice; returns its label.

        The message itself is in `last_message`.
        """
        await self.recv(from_)
        return self.last_sender_label

    async def recv_any(self, roles: Collection[str]) -> tuple[str, Any]:
        """Receive the first message to arrive from any of `roles`; returns (sender, message)."""
        while True:
            if self.inbox.control:
                self._check_control()
            best: tuple[int, str] | None = None
            for role in roles:
                queue = self.inbox.queues.get(role)
                if queue:
                    self._drop_stale(queue)
                    if queue and (best is None or queue[0][0] < best[0]):
                        best = (queue[0][0], role)
            if best is not None:
                envelope = self._take(best[1], None)
                if envelope is not None:
                    return best[1], self._accept(envelope)
            if not any(self.monitor.expects_from(role) for role in roles):
                raise self._violation(self.monitor.expected(), f"receive from any of {', '.join(roles)}")
            await self._wait(tuple(roles))

    def _take(self, from_: str, label: str | None) -> Envelope | None:
        queue = self.inbox.queues.get(from_)
        if not queue:
            self._check_control()
            return None
        if label is None:
            self._drop_stale(queue)
            return queue.popleft()[1] if queue else None
        i = 0
        while i < len(queue):
            envelope = queue[i][1]
            if envelope.label == label:
                del queue[i]
                return envelope
            if self._drop_expected(envelope):
                del queue[i]
                continue
            if not self.monitor.accepts_receive(envelope.sender, envelope.label):
                del queue[i]
                return envelope  # nobody expects it: accepting it raises the violation
            i += 1  # another parallel branch's message: leave it for that branch
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
        if self._extensions is not None and (envelope.receipt or envelope.journal or envelope.ext):
            self._run_receive_extensions((), envelope, None)

    def _accept(self, envelope: Envelope) -> Any:
        sender, label = envelope.sender, envelope.label
        monitor = self.monitor
        step = monitor.on_receive(sender, label)
        spec = self._specs.get(id(step)) or self._spec(step, label, step.payload)
        try:
            if envelope.big:
                message = decode_payload(spec.decoder, spec.cls, envelope.payload, True)
            else:
                message = spec.decoder.decode(envelope.payload)
        except WireError as exc:
            got = f"{label} from {sender} with a bad payload: {exc}"
            raise self._violation(spec.signature(), got) from None
        env = monitor.env
        received = self.received
        for variable, name in spec.binds:
            env[variable] = received[variable] = getattr(message, name)
        if self._extensions is not None:
            self._on_receive_extensions(step, envelope, message)
        self.last_message = message
        self.last_sender = sender
        self.last_sender_label = label
        session = self.session
        self._record_event(
            ("recv", session.id, self.role, sender, self.role, label, envelope.seq, self._now(),
             session.protocol)
        )  # fmt: skip
        return message

    def _on_receive_extensions(self, step: Recv | Branch, envelope: Envelope, message: object) -> None:
        self._run_receive_extensions(step.annotations if isinstance(step, Recv) else (), envelope, message)

    def _run_receive_extensions(self, annotations: Any, envelope: Envelope, message: object) -> None:
        assert self._extensions is not None
        extensions = self._extensions.for_step(annotations)
        if not extensions:
            return
        ctx = self._step_context(envelope.sender, envelope.label, annotations, message, "recv")
        attachments = dict(envelope.ext or {})
        if envelope.receipt is not None:
            attachments["receipt"] = envelope.receipt
        if envelope.journal is not None:
            attachments["journal"] = envelope.journal
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

    # ------------------------------------------------------------------ choices and local actions

    async def choose(self, label: str) -> None:
        """Take branch `label` of this role's internal choice (nothing is sent by the choice itself)."""
        self.monitor.on_choose(label)
        self._record("choose", self.role, self.role, label, 0)

    async def local(self, action: str, *args: object) -> None:
        """Record a local action (no communication, so the monitor has nothing to check)."""
        self._record("local", self.role, self.role, action, 0)

    # ------------------------------------------------------------------ timeout blocks (SPEC §4.5)

    def enter_timeout(self, step: Timeout) -> TimeoutToken | None:
        """Arm the deadline of a timeout block this role is entering (None for a non-waiter)."""
        self._timeouts.extend(self.monitor.take_armed())
        for token in self._timeouts:
            if token.step is step and token.active and token.deadline is None:
                token.deadline = self._loop.time() + step.deadline_ms / 1000
                return token
        return None

    def arm_timeouts(self) -> None:
        """Start the deadline of every timeout block the monitor entered since the last call."""
        armed = self.monitor.take_armed()
        if armed:
            now = self._loop.time()
            for token in armed:
                if token.deadline is None:
                    token.deadline = now + token.step.deadline_ms / 1000

    def enter_next_timeout(self) -> TimeoutToken | None:
        """Arm the timeout block this role is entering, whichever it is (None for a non-waiter)."""
        self.monitor.next_steps()  # settle into the block
        self._timeouts.extend(self.monitor.take_armed())
        for token in self._timeouts:
            if token.active and token.deadline is None:
                token.deadline = self._loop.time() + token.step.deadline_ms / 1000
                return token
        return None

    def timeout_block(self) -> TimeoutBlock:
        """`async with ep.timeout_block() as block:` — this role's part of a timeout block (SPEC §4.5)."""
        return TimeoutBlock(self)

    def expire_timeout(self, token: TimeoutToken) -> bool:
        """The deadline passed: the monitor moves to the alt; body messages arriving later are late."""
        if token in self._timeouts:
            self._timeouts.remove(token)
        expired = self.monitor.on_timeout(token)
        if expired:
            self._record("timeout", self.role, self.role, "timeout", 0)
        return expired

    # ------------------------------------------------------------------ try blocks (SPEC §4.6)

    def try_token(self, step: Try) -> TryToken:
        """The token of the try block this role is entering."""
        return self._saga.token(step)

    def enter_next_try(self) -> TryToken:
        """The innermost try block this role has entered and not yet claimed."""
        return self._saga.next_token()

    def saga(self) -> SagaBlock:
        """`async with ep.saga() as saga:` — this role's part of a try block (SPEC §4.6)."""
        return SagaBlock(self)

    async def settle_try(self, token: TryToken, failed: bool) -> bool:
        """Finish a try block: report to / decide as the coordinator; True if it committed."""
        return await self._saga.settle(token, failed)

    def _check_control(self) -> None:
        """Inside a try body, abort at a receive when the saga must compensate."""
        if self.inbox.control and self.monitor.tries:
            self._saga.check()

    # ------------------------------------------------------------------ helpers

    def message(self, label: str, *args: object, **fields: object) -> msgspec.Struct:
        """Build a message of this protocol by label: `ep.message("Prepare", transaction_id=1)`."""
        return self.session.catalog.make(label, *args, **fields)

    def _spec(self, step: LocalStep | Branch, label: str, payload: Any) -> MessageSpec:
        key = id(step)
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = self.session.catalog.spec(label, payload)
        return spec

    def _step(self) -> str:
        return f"step {self.monitor.step_count + 1}"

    def _violation(self, expected: str, got: str) -> ProtocolViolation:
        return ProtocolViolation(self.role, expected, got, session=self.session.id, step=self._step())

    def _step_context(
        self, peer: str, label: str, annotations: Any, payload: object, direction: str
    ) -> StepContext:
        return StepContext(
            protocol=self.session.protocol,
            session=self.session.id,
            role=self.role,
            device=self.device,
            peer=peer,
            label=label,
            annotations=annotations,
            payload=payload,
            direction=direction,
            step=self.monitor.step_count,
            peer_device=self.session.address(peer),
        )

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


def _clock_of(loop: asyncio.AbstractEventLoop) -> Callable[[], float]:
    """`loop.time`, or `time.monotonic` itself when that is all the loop's `time` does (one call less
    per recorded event); a loop with its own clock (virtual time) keeps its own."""
    if type(loop).time is asyncio.BaseEventLoop.time:
        return time.monotonic
    return loop.time


def _future_factory(loop: asyncio.AbstractEventLoop) -> Callable[[], asyncio.Future[None]]:
    """`loop.create_future`, or the future class bound to the loop when that is all it does (a
    partial is called without a Python frame); a loop with its own futures keeps them."""
    if type(loop).create_future is asyncio.BaseEventLoop.create_future:
        return functools.partial(asyncio.Future, loop=loop)
    return loop.create_future


def _attachments(
    extensions: tuple[Extension, ...], ctx: StepContext
) -> tuple[bytes | None, bytes | None, dict[str, bytes] | None]:
    """Run `before_send` of each extension; their attachments as (receipt, journal, other)."""
    attachments: dict[str, bytes] = {}
    for index, extension in enumerate(extensions):
        try:
            extra = extension.before_send(ctx)
        except BaseException:
            # The earlier extensions prepared this send (reserved fact ids, receipt slots): it will
            # not happen, so they hear that it was refused.
            _after_send(extensions[:index], ctx, False)
            raise
        if extra:
            attachments.update(extra)
    receipt = attachments.pop("receipt", None)
    journal = attachments.pop("journal", None)
    return receipt, journal, attachments or None


def _after_send(extensions: tuple[Extension, ...], ctx: StepContext | None, accepted: bool) -> None:
    if ctx is not None:
        for extension in extensions:
            extension.after_send(ctx, accepted)

