"""Saga control for `try { body } compensate { comp }` (SPEC §4.6), on behalf of one endpoint.

Participants report `Done` or `Failed` to the coordinator when their part of the body ends; the
coordinator answers every participant with `Commit` (all done) or `Compensate` (someone failed).
A participant that receives `Compensate` while still in the body abandons it at its next receive
(`TryAborted`). These control messages travel on the same per-channel sequence as data, never reach
role code, and carry the block's key so nested and repeated blocks do not mix.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import msgspec

from aura_choreo.errors import AuraChoreoError, PeerTimeout, ProtocolViolation
from aura_choreo.projection.local_types import Try
from aura_choreo.runtime.durations import format_seconds
from aura_choreo.runtime.inbox import Inbox, InboxTimeout
from aura_choreo.runtime.monitor import Monitor, TryToken
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.session_data import SessionData
from aura_choreo.runtime.wire import (
    KIND_CONTROL,
    WIRE_VERSION,
    Envelope,
    WireError,
    decode_value,
    encode_value,
)

FAILED, DONE, COMMIT, COMPENSATE = "Failed", "Done", "Commit", "Compensate"
"""Labels of the saga control messages."""


class TryAborted(AuraChoreoError):
    """Raised inside a try body when the saga must compensate (a participant failed)."""

    def __init__(self, token: TryToken, reason: str) -> None:
        self.token = token
        self.reason = reason
        super().__init__(f"try block {token.key} aborted: {reason}")


class SagaHost(Protocol):
    """What saga control needs of its endpoint (so this module does not depend on the endpoint's)."""

    @property
    def role(self) -> str: ...

    @property
    def session(self) -> SessionData: ...

    @property
    def node(self) -> Node: ...

    @property
    def monitor(self) -> Monitor: ...

    @property
    def inbox(self) -> Inbox: ...

    @property
    def _loop(self) -> asyncio.AbstractEventLoop: ...

    def _step(self) -> str: ...

    def _violation(self, expected: str, got: str) -> ProtocolViolation: ...

    def _next_seq(self, to: str) -> int: ...

    def _record_control(self, kind: str, sender: str, receiver: str, label: str, seq: int) -> None: ...


def control_key(envelope: Envelope) -> str:
    """The try-block key a control message carries ("" if unreadable)."""
    try:
        return str(decode_value(envelope.payload))
    except WireError:
        return ""


class Saga:
    """The try-block protocol of one endpoint."""

    def __init__(self, endpoint: SagaHost) -> None:
        self.endpoint = endpoint

    def token(self, step: Try) -> TryToken:
        """The token of the try block the role is entering."""
        ep = self.endpoint
        ep.monitor.next_steps()  # settle, so the block is entered
        for token in ep.monitor.tries:
            if token.step is step and token.active and not token.claimed:
                token.claimed = True
                return token
        raise ep._violation(ep.monitor.expected(), "a try block")

    def next_token(self) -> TryToken:
        """The outermost try block entered and not yet claimed by imperative code."""
        ep = self.endpoint
        ep.monitor.next_steps()  # settle, so the block is entered
        for token in ep.monitor.tries:
            if token.active and not token.claimed:
                token.claimed = True
                return token
        raise ep._violation(ep.monitor.expected(), "a try block")

    async def settle(self, token: TryToken, failed: bool) -> bool:
        """Report to / decide as the coordinator; then tell the monitor. True if it committed."""
        ep = self.endpoint
        step = token.step
        others = [p for p in dict.fromkeys(step.participants) if p != ep.role]
        if ep.role == step.coordinator:
            committed = not failed and await self._collect_reports(token, others)
            for participant in others:
                await self._send(participant, COMMIT if committed else COMPENSATE, token.key)
            # The reports are consumed only now, with the verdict out: a coordinator that crashes while
            # settling and restarts from its checkpoint (resilience/checkpoint.py) finds them again.
            for participant in others:
                while self._take(participant, (DONE, FAILED), token.key) is not None:
                    pass
        else:
            verdict = self._take(None, (COMPENSATE,), token.key)
            if verdict is None:
                await self._send(step.coordinator, FAILED if failed else DONE, token.key)
                verdict = await self._await(step.coordinator, (COMMIT, COMPENSATE), token.key)
            committed = verdict == COMMIT
        ep.monitor.next_steps()  # settle: a finished body is only marked done once crossed
        ep.monitor.on_try_outcome(token, committed)
        if not committed:
            self._mark_late(token)
        return committed

    def check(self) -> None:
        """Raise `TryAborted` if a verdict to compensate (or, at the coordinator, a failure) is queued."""
        ep = self.endpoint
        control = ep.inbox.control
        for token in ep.monitor.tries:
            if token.body_done:
                continue
            wanted = FAILED if ep.role == token.step.coordinator else COMPENSATE
            for envelope in control:
                if envelope.label == wanted and control_key(envelope) == token.key:
                    # left queued: `settle` consumes the reports once the verdict is out
                    raise TryAborted(token, f"{envelope.label} from {envelope.sender}")

    def _mark_late(self, token: TryToken) -> None:
        """Body messages that arrive after compensation began are late, not violations."""
        self.endpoint.monitor.mark_late(token.step.body)

    async def _collect_reports(self, token: TryToken, participants: list[str]) -> bool:
        """Whether every participant reported `Done` (False at the first `Failed`); reports stay queued."""
        while True:
            waiting = []
            for participant in sorted(set(participants)):
                report = self._peek(participant, (DONE, FAILED), token.key)
                if report == FAILED:
                    return False
                if report is None:
                    waiting.append(participant)
            if not waiting:
                return True
            await self._wait(tuple(waiting))

    def _peek(self, sender: str, labels: tuple[str, ...], key: str) -> str | None:
        for envelope in self.endpoint.inbox.control:
            if envelope.label in labels and envelope.sender == sender and control_key(envelope) == key:
                return envelope.label
        return None

    async def _await(self, sender: str, labels: tuple[str, ...], key: str) -> str:
        while True:
            found = self._take(sender, labels, key)
            if found is not None:
                return found
            await self._wait((sender,))

    async def _wait(self, senders: tuple[str, ...]) -> None:
        ep = self.endpoint
        timeout = ep.session.peer_timeout
        deadline = None if timeout is None else ep._loop.time() + timeout
        try:
            await ep.inbox.wait((), deadline)
        except InboxTimeout:
            raise PeerTimeout(
                f"no saga outcome from {', '.join(senders)} within {format_seconds(timeout or 0)}",
                role=ep.role,
                session=ep.session.id,
                step=ep._step(),
            ) from None

    def _take(self, sender: str | None, labels: tuple[str, ...], key: str) -> str | None:
        ep = self.endpoint
        control = ep.inbox.control
        for envelope in list(control):
            if envelope.label in labels and (sender is None or envelope.sender == sender):
                if control_key(envelope) == key:
                    control.remove(envelope)
                    ep._record_control("recv", envelope.sender, ep.role, envelope.label, envelope.seq)
                    return envelope.label
        return None

    async def _send(self, to: str, label: str, key: str) -> None:
        ep = self.endpoint
        session = ep.session
        seq = ep._next_seq(to)
        envelope = Envelope(
            WIRE_VERSION, KIND_CONTROL, session.id, session.protocol, ep.role, to, label, seq,
            msgspec.Raw(encode_value(key)),
        )  # fmt: skip
        await ep.node.send(session.address(to), envelope)
        ep._record_control("send", ep.role, to, label, seq)
