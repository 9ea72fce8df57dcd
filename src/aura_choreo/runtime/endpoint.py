"""Endpoints: one role's side of one session, written imperatively.

    async with session.endpoint("Coordinator", node) as ep:
        await ep.send("Participant", PrepareRequest(transaction_id=7))
        reply = await ep.recv("Participant")
        label = await ep.offer("Participant")

Every call is checked by the role's monitor before anything reaches the wire, and payloads are
type-checked on send and on receipt: a wrong call raises `ProtocolViolation` naming role, session and
step. Leaving the `async with` block checks that the role ran to its end with nothing left unread.

This module is the API role code calls; `send` and its delivery are `endpoint_send.EndpointSend`,
the inbox, wait and trace plumbing under the receives is `endpoint_core.EndpointCore`, the timeout
and try block calls are `endpoint_blocks.EndpointBlocks`, and the small step pieces (refused sends,
`timeout` annotations, the extension calls around a send) are in `step_context`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from types import TracebackType
from typing import Any

import msgspec

from aura_choreo.diagnostics import did_you_mean
from aura_choreo.projection.local_types import Choose
from aura_choreo.runtime.endpoint_core import DirectPeer
from aura_choreo.runtime.endpoint_send import EndpointSend, SendPlan
from aura_choreo.runtime.extensions import Extension, SessionContext
from aura_choreo.runtime.inbox import InboxTimeout, Waiter
from aura_choreo.runtime.messages import label_of
from aura_choreo.runtime.monitor import Monitor, TimeoutToken
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.saga import COMMIT, COMPENSATE, DONE, FAILED, Saga, TryAborted
from aura_choreo.runtime.session_data import SessionData
from aura_choreo.runtime.step_context import (
    EndpointStats,
    SendFailed,
    clock_of,
    future_factory,
    parse_timeout_ms,
)

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


class Endpoint(EndpointSend):
    """One role in one session over one node; see the module docstring."""

    __slots__ = ()

    def __init__(self, session: SessionData, role: str, node: Node, *, device: str | None = None) -> None:
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
        self.monitor = Monitor(
            local_type, session=session.id, env=self.env, tables=session.catalog.monitor_tables
        )
        self.received: dict[str, object] = {}
        """The named payload fields this role has received, by name (the latest value of each)."""
        self.inbox = node.inbox(session.id, role)
        self.stats = EndpointStats()
        self.last_message: Any = None
        self.last_sender = ""
        self.last_sender_label = ""
        self.last_deadline: float | None = None
        """The deadline (loop time) the sender of the last message received was under, if any."""
        self._seq: dict[str, int] = {}
        self._specs = session.catalog.step_specs  # shared by the sessions of this protocol
        self._sends: dict[int, SendPlan] = {}
        self._peers: dict[str, DirectPeer | None] = {}
        self._timeouts: list[TimeoutToken] = []
        self._saga = Saga(self)
        self._loop = asyncio.get_running_loop()
        self._trace = session.trace
        self._record_event = session.trace.sink()
        self._now = clock_of(self._loop)
        self._new_future = future_factory(self._loop)
        registry = self._extensions = None if session.extensions.is_empty() else session.extensions
        # Which hooks exist is decided here, once: a do-nothing hook costs no context per message.
        self._send_hooks = {} if registry is not None and registry.has_send_hooks() else None
        self._receive_hooks = {} if registry is not None and registry.has_receive_hooks() else None
        self._plain_receives = registry is not None and registry.receives_plain_messages()
        self._devices = session.devices
        self._started: tuple[Extension, ...] | None = None
        """The extensions whose `on_session_start` ran (None before `start`)."""
        self._ended = False
        self._init_effects()
        self._timeout_annotations = session.catalog.has_timed_receives(local_type)

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
        return SessionContext(
            session.protocol, session.id, self.role, self.device, self.local_type, self._trace
        )

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

    # ------------------------------------------------------------------ receiving

    async def recv(
        self, from_: str, label: str | None = None, *, among: Collection[str] | None = None
    ) -> Any:
        """Receive the next message from `from_` (with `label`: the next one with that label; with
        `among`: the next one with one of those labels)."""
        monitor = self.monitor
        inbox = self.inbox
        while True:
            if inbox.control:
                self._check_control()  # a saga verdict is taken at the next receive (SPEC §4.6)
            queue = inbox.queues.get(from_)
            if queue:
                if label is None:
                    if monitor.in_order():
                        return self._accept(queue.popleft()[1])  # the common case
                elif queue[0][1].label == label:
                    return self._accept(queue.popleft()[1])  # what `_take` takes first: the label's
                envelope = self._take(from_, label, among)
                if envelope is not None:
                    return self._accept(envelope)
            # Arming the wait, inlined from `_arm_wait` because this is the hot path.
            if not monitor.expects_from(from_):
                raise self._violation(monitor.expected(), f"receive from {from_}")
            timeout = self.session.peer_timeout
            if self._timeout_annotations:
                timeout = self._receive_timeout((from_,))
            # `inbox.add_waiter` / `remove_waiter`, inlined as well. The wait takes the next message
            # from `from_`: as the inbox's `taker`, it may be handed over with the wake-up (`push`).
            future = self._new_future()
            if timeout is None:
                waiter = Waiter(future, (from_,), None, None)
            else:
                deadline = self._now() + timeout
                waiter = Waiter(future, (from_,), deadline, timeout)
                if deadline < inbox.timer_at:
                    inbox.arm(self._loop, deadline)
            taker = inbox.taker is None  # else another receive is the taker: wait in the list
            if taker:
                inbox.taker = waiter
            else:
                inbox.waiters.append(waiter)
            try:
                handed = await future
            except InboxTimeout:
                raise self._peer_timeout(waiter) from None
            except BaseException:  # cancelled: a message handed over meanwhile goes back to the queue
                inbox.give_back_from(future)
                raise
            finally:
                if taker:
                    inbox.taker = None
                else:
                    inbox.waiters.remove(waiter)
            if handed is not None:
                # Taken as if from the head of the queue (above); anything else puts it back there.
                if not inbox.control:
                    if label is None:
                        if monitor.in_order():
                            return self._accept(handed[1])
                    elif handed[1].label == label:
                        return self._accept(handed[1])
                inbox.give_back(handed)

    async def offer(self, from_: str, labels: Collection[str] | None = None) -> str:
        """Receive the message from `from_` that decides an external choice; returns its label.

        The message itself is in `last_message`. `labels` (the choice's branch labels) keeps an
        offer inside a parallel block from taking another branch's message on the same channel.
        """
        await self.recv(from_, among=labels)
        return self.last_sender_label

    async def recv_any(self, roles: Collection[str]) -> tuple[str, Any]:
        """Receive the first message to arrive from any of `roles`; returns (sender, message)."""
        while True:
            if self.inbox.control:
                self._check_control()
            heads: list[tuple[int, str]] = []
            for role in roles:
                queue = self.inbox.queues.get(role)
                if queue:
                    self._drop_stale(queue)
                    if queue:
                        heads.append((queue[0][0], role))
            for _, role in sorted(heads):  # arrival order; a message may wait for another par branch
                envelope = self._take(role, None, None)
                if envelope is not None:
                    return role, self._accept(envelope)
            if not any(self.monitor.expects_from(role) for role in roles):
                raise self._violation(self.monitor.expected(), f"receive from any of {', '.join(roles)}")
            await self._wait(tuple(roles))

    # ------------------------------------------------------------------ choices and local actions

    async def choose(self, label: str, *, step: Choose | None = None) -> None:
        """Take branch `label` of this role's internal choice (nothing is sent by the choice itself).

        `step`: the choice it is, when the caller knows it (the behaviour-driven runner does); in a
        parallel block with several choices of that label, the monitor otherwise ties the choice to
        a branch by the send that follows it.
        """
        await self.load_guard_facts()  # a guard may read the journal (`runtime.fact_guards`)
        self.monitor.on_choose(label, step)
        self._record("choose", self.role, self.role, label, 0)

    async def local(self, action: str, *args: object) -> None:
        """Record a local action (no communication, so the monitor has nothing to check)."""
        self._record("local", self.role, self.role, action, 0)

    # ------------------------------------------------------------------ helpers

    def message(self, label: str, *args: object, **fields: object) -> msgspec.Struct:
        """Build a message of this protocol by label: `ep.message("Prepare", transaction_id=1)`."""
        return self.session.catalog.make(label, *args, **fields)
