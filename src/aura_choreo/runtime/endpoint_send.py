"""Sending: `send`, the call role code makes, and what is under it (the per-step send plans, the
extension hooks around a send, delivery through the node or straight into a peer's inbox in this
process, and the retry of a send the transport refused).

Kept apart from `endpoint` (the rest of the imperative API) so each module stays one job;
`Endpoint` inherits this class.
"""

from __future__ import annotations

import msgspec

from aura_choreo.errors import TransportError
from aura_choreo.projection.local_types import Send
from aura_choreo.runtime.deadlines import DEADLINE, outgoing_ms
from aura_choreo.runtime.endpoint_blocks import EndpointBlocks
from aura_choreo.runtime.endpoint_core import DirectPeer
from aura_choreo.runtime.extensions import Extension, StepContext
from aura_choreo.runtime.inbox import Inbox
from aura_choreo.runtime.messages import MessageSpec, coerce_message
from aura_choreo.runtime.node import header_bound
from aura_choreo.runtime.step_context import (
    SendFailed,
    SendHooks,
    after_send,
    attachments,
    new_context,
    settle,
)
from aura_choreo.runtime.wire import KIND_DATA, WIRE_VERSION, Envelope, encode_payload
from aura_choreo.runtime.wire import encode_envelope as _encode
from aura_choreo.transports.base import Address
from aura_choreo.transports.inmemory import InMemoryTransport

SendPlan = tuple[MessageSpec, Address, int]  # see `EndpointSend._send_plan`

__all__ = ["EndpointSend", "SendPlan"]


class EndpointSend(EndpointBlocks):
    """An endpoint's sends, on the state `EndpointCore` holds."""

    __slots__ = ()

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
        plan = self._sends.get(id(step)) or self._send_plan(step, to, label)
        spec, address, room = plan
        msg = message if type(message) is spec.cls else coerce_message(spec, message)
        if msg is None:
            raise self._violation(spec.signature(), spec.mismatch(message))
        valid = spec.valid  # every field's type (and a sized integer's range), in one call
        if valid is not None and not valid(msg):
            raise self._violation(spec.signature(), f"{label}({', '.join(spec.bad_fields(msg))})")
        try:
            try:
                payload = _encode(msg)  # `encode_payload`'s common case, inlined
                big = False
            except OverflowError:  # an integer beyond 64 bits
                payload, big = encode_payload(msg)
        except (TypeError, ValueError, RecursionError) as exc:  # e.g. a lone surrogate, deep nesting
            got = f"{label} with an unencodable value: {exc}"
            raise self._violation(spec.signature(), got) from None
        monitor.accept_send(thread, step)
        bind = spec.bind_sent
        if bind is not None:
            bind(msg, monitor.env)
        receipt = journal = ext = None
        ctx: StepContext | None = None
        extensions: tuple[Extension, ...] = ()
        hooks = self._send_hooks
        if hooks is not None:  # some extension hooks sends (decided once per endpoint)
            extensions, head, peer_device = hooks.get(id(step)) or self._hook_send(step, to, label)
            if extensions:  # the step's fixed fields, then the payload, direction, step count, device
                ctx = new_context(StepContext, (*head, msg, "send", monitor.step_count, peer_device))
                receipt, journal, ext = attachments(extensions, ctx)
        seq = self._seq.get(to, 0) + 1  # `_next_seq`, inlined on the hot path
        self._seq[to] = seq
        session = self.session
        deadline = DEADLINE.get()  # the caller's deadline rides along (SPEC §8.6)
        envelope = Envelope(
            WIRE_VERSION, KIND_DATA, session.id, session.protocol, self.role, to, label, seq,
            msgspec.Raw(payload), receipt, journal, ext, big,
            None if deadline is None else outgoing_ms(deadline, self._now()),
        )  # fmt: skip
        if receipt is not None or journal is not None or ext is not None:
            await self._deliver(to, envelope, extensions, ctx)  # attachments: through the node
            return
        peer = self._peers.get(to)  # `_hand_over`'s common case, inlined on the hot path
        if (
            peer is not None
            and peer.inbox.open
            and peer.epoch == peer.transport.epoch
            and len(payload) <= room
        ):
            peer.transport.frames_sent += 1
            peer.inbox.push(envelope)
        elif not self._hand_over(to, envelope, address, len(payload), room):
            await self._deliver(to, envelope, extensions, ctx)
            return
        if ctx is not None:  # `_deliver`'s tail for an envelope delivered in this process already
            waits = after_send(extensions, ctx, True)
            if waits:
                await settle(waits)  # e.g. the send's journal facts reaching the disk
        self._record_event(
            ("send", session.id, self.role, self.role, to, label, seq, self._now(), session.protocol)
        )

    def _hand_over(self, to: str, envelope: Envelope, address: Address, size: int, room: int) -> bool:
        """Deliver `envelope` (no attachments, a payload of `size` bytes) in this process, with no
        await: straight into the peer's inbox once it is known (`DirectPeer`), else through the
        node's hand-off (the in-memory transport). False, nothing done: send it through the node."""
        peer = self._peers.get(to)
        if peer is not None and peer.inbox.open and peer.epoch == peer.transport.epoch and size <= room:
            peer.transport.frames_sent += 1
            peer.inbox.push(envelope)
            return True
        node = self.node
        if not node.hand_off(address, envelope, node.max_frame - room + size):
            return False
        if to in self._peers:
            self._find_peer(to, address)  # the second envelope handed to `to`: go direct from now
        else:
            self._peers[to] = None  # a one-message peer (short sessions) is not worth a look-up
        return True

    def _send_plan(self, step: Send, to: str, label: str) -> SendPlan:
        """What a send step needs message after message: its spec, the peer's address and the room
        its payload has within the frame size limit, given the size bound of its envelope without
        payload and attachments (worked out on its first send)."""
        session = self.session
        header = header_bound(session.id, session.protocol, self.role, to, label)
        spec = self._spec(step, label, step.payload)
        plan = self._sends[id(step)] = (spec, self._devices.get(to, to), self.node.max_frame - header)
        return plan

    def _hook_send(self, step: Send, to: str, label: str) -> SendHooks:
        """A send step's extensions with send hooks and its context's fixed fields (worked out on its
        first send)."""
        assert self._send_hooks is not None and self._extensions is not None
        session = self.session
        head = (session.protocol, session.id, self.role, self.device, to, label, step.annotations)
        senders = self._extensions.senders(step.annotations)
        hooked = self._send_hooks[id(step)] = (senders, head, session.address(to))
        return hooked

    async def _deliver(
        self,
        to: str,
        envelope: Envelope,
        extensions: tuple[Extension, ...],
        ctx: StepContext | None,
    ) -> None:
        """Send `envelope` through the node, then tell the extensions and record it."""
        try:
            await self.node.send(self.session.address(to), envelope)
        except TransportError as exc:
            raise self._send_failed(exc, to, envelope, extensions, ctx) from exc
        if ctx is not None:
            waits = after_send(extensions, ctx, True)
            if waits:
                await settle(waits)  # e.g. the send's journal facts reaching the disk
        self._record("send", self.role, to, envelope.label, envelope.seq)

    def _find_peer(self, to: str, address: Address) -> None:
        """After hand-offs to `to`: remember its inbox, so that the next sends go straight there."""
        transport = self.node.transport
        if isinstance(transport, InMemoryTransport):
            inbox = transport.target(address, (self.session.id, to))
            if type(inbox) is Inbox:
                self._peers[to] = DirectPeer(inbox, transport)

    def _send_failed(
        self,
        exc: TransportError,
        to: str,
        envelope: Envelope,
        extensions: tuple[Extension, ...],
        ctx: StepContext | None,
    ) -> SendFailed:
        after_send(extensions, ctx, False)

        async def retry() -> None:
            await self._deliver(to, envelope, extensions, ctx)

        return SendFailed(exc.detail, retry, role=self.role, session=self.session.id, step=self._step())
