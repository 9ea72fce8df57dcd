"""`nats://host:port`: a NATS server as the broker between devices (SPEC §5.7), on `nats-py` (extra `[nats]`).

Unlike `tcp://` and `ws://` there is no connection per pair of devices: every device connects to the
server and subscribes to one subject per (protocol hash, session, role it plays); a frame for a role is
published on that role's subject. So many sessions and many processes share one server, and a role can
move between hosts without its peers being reconfigured (they only know the server).

The broker relays but is not trusted. Every frame travels inside a `SignedFrame`, signed by the
sender device's key over (domain tag, subject, device, counter, frame), and the receiver's
`net.signed.FrameVerifier` drops (with a logged reason, `refusals`) whatever is forged, redirected to
another subject, replayed, or claims a role its device does not play, before the session layer sees
it. Frames can still be lost (a server restart, a slow consumer): the transport is unreliable, so the
session layer's acknowledgements and retransmission run unchanged above it. Presence (`open_session`)
is a signed HELLO answered by each peer, which also exposes a peer on another protocol hash.

`nats-py` is imported only when the transport starts: without the extra the error is one line naming
`pip install 'aura-choreo[nats]'`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

import msgspec

from aura_choreo.errors import HandshakeRefused, PeerTimeout, ProtocolMismatch, TransportError
from aura_choreo.transports.base import (
    DEFAULT_MAX_FRAME,
    Address,
    ClosableLink,
    FrameHandler,
    Link,
    Transport,
)
from aura_choreo.transports.nats_client import confirm_subscriptions, connect, import_nats
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.net.signed import (
    HEAD,
    VERSION,
    FrameVerifier,
    Hello,
    Instances,
    Rejected,
    SignedFrame,
    frame_signer,
    hello_frame,
    refused_by,
    session_pattern,
    signed_bytes,
    subject_for,
    subject_too_long,
)
from aura_choreo.transports.peering import PeerDevice

log = logging.getLogger("aura_choreo.nats")

StatusCallback = Callable[[str], None]
_MAX_REFUSALS_KEPT = 200
_MAX_CLOSED = 1024
"""How many closed sessions a transport stays subscribed to for their peers' late frames (the oldest
go first), as `carrier.NetworkTransport` remembers them for tcp://, ws:// and quic://."""


class _NatsLink(ClosableLink):
    def __init__(self, transport: NatsTransport, address: Address) -> None:
        super().__init__(address)
        self._transport = transport

    def send(self, to: Address, frame: bytes) -> Awaitable[None]:
        # Once per frame: the transport's coroutine itself, not one more wrapped around it.
        if self._closed:
            raise TransportError(f"link {self._address!r} is closed")
        return self._transport._send(frame)

    async def _deliver(self, to: Address, frame: bytes) -> None:
        await self._transport._send(frame)

    def _release(self) -> None:
        self._transport._handler = None


class NatsTransport(Transport):
    """This device's presence on a NATS server: the same surface as `NetworkTransport`.

    Use `async with NatsTransport(identity, peers, server="nats://127.0.0.1:4222") as transport:`, then
    `await transport.open_session(binding)` before running the device's roles over a `Node` attached at
    `transport.local_address`.
    """

    reliable = False

    def __init__(
        self,
        identity: Identity,
        peers: Mapping[str, PeerDevice],
        *,
        server: str,
        max_frame: int = DEFAULT_MAX_FRAME,
        max_skew: float = 30.0,
        reconnect_wait: float = 0.25,
        on_status: StatusCallback | None = None,
    ) -> None:
        self.identity = identity
        self.device = identity.device
        self.peers = dict(peers)
        self.server = server
        self.max_frame = max_frame
        self.max_skew = max_skew
        self.reconnect_wait = reconnect_wait
        self.on_status = on_status
        self.drop_after_frames: int | None = None
        """Test hook: silently drop the frame published after this many (once), as a lossy broker would."""
        self.directory = {d: p.public_key for d, p in self.peers.items()}
        self.directory[self.device] = identity.public_bytes
        self.refusals: list[str] = []
        """Refusals with their reasons, in order (the first 200; `rejected` counts them all)."""
        self.rejected = 0
        self.connections_made = 0
        self.published = 0
        self.dropped = 0
        """Frames not handed to the server (disconnected with a full buffer): retransmitted above."""
        self._handler: FrameHandler | None = None
        self._bindings: dict[str, SessionBinding] = {}
        # Recently closed sessions (oldest first, at most `_MAX_CLOSED`), still subscribed. A peer's last
        # frames arrive after we close (its final ack; a data frame resent because our ack was lost),
        # and our session layer still sends some (an ack of such a resend): both still flow, verified
        # as before, and the session layer answers them as late frames (re-acks data, delivers
        # nothing) so the peer stops retransmitting. The subscriptions and replay counters of a
        # session go when it leaves this memory, so a long-lived transport holds a bounded number.
        self._closed: OrderedDict[str, SessionBinding] = OrderedDict()
        self._subscriptions: dict[str, list[Any]] = {}
        self._verifier = FrameVerifier(self.directory, max_skew)
        self.instance = secrets.token_bytes(16)
        self._instances = Instances()
        self._sign = frame_signer(identity)
        self._subjects: dict[str, list[str]] = {}
        self._heard: set[tuple[str, str]] = set()
        """(device, session): the device answered our presence there, so it is subscribed."""
        self._failures: dict[str, HandshakeRefused] = {}
        self._changed: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._counter = 0
        self._nc: Any = None
        self._connecting: asyncio.Lock | None = None
        self._closing = False

    # ------------------------------------------------------------------ addresses

    @property
    def local_address(self) -> Address:
        return f"device:{self.device}"

    def address_of(self, device: str) -> Address:
        return f"device:{device}"

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> NatsTransport:
        import_nats()  # fail early, in one line, without the extra
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closing = True
        tasks = list(self._tasks)
        if tasks:  # unsubscriptions finish (bounded); the rest (answers to HELLOs) are cancelled
            await asyncio.wait(tasks, timeout=1.0)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        nc, self._nc = self._nc, None
        if nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.drain(), 2.0)
            with contextlib.suppress(Exception):
                await nc.close()

    def attach(self, address: Address, on_frame: FrameHandler) -> Link:
        if self._handler is not None:
            raise TransportError(f"{address} is already attached to this NATS transport")
        self._handler = on_frame
        return _NatsLink(self, address)

    async def _connect(self, timeout: float) -> Any:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:  # concurrent `open_session`s share one connection
            if self._nc is not None:
                return self._nc
            return await self._connect_now(timeout)

    async def _connect_now(self, timeout: float) -> Any:
        callbacks: dict[str, Callable[..., Awaitable[None]]] = {
            "error_cb": self._on_error,
            "disconnected_cb": self._on_disconnected,
            "reconnected_cb": self._on_reconnected,
        }
        name = f"aura-choreo:{self.device}"
        nc = await connect(self.server, name, timeout, self.reconnect_wait, callbacks, lambda: self._closing)
        self._nc = nc
        self.connections_made += 1
        self._status(f"{self.device} connected to the NATS server {self.server}")
        return nc

    async def _on_error(self, exc: Exception) -> None:
        if not self._closing:
            log.info("%s: NATS client error: %r", self.device, exc)

    async def _on_disconnected(self) -> None:
        if not self._closing:
            self._status(f"{self.device} lost the NATS server {self.server}; reconnecting")

    async def _on_reconnected(self) -> None:
        self.connections_made += 1
        self._status(f"{self.device} reconnected to the NATS server {self.server}")

    # ------------------------------------------------------------------ sessions

    async def open_session(
        self, binding: SessionBinding, *, peers: set[str] | None = None, timeout: float = 30.0
    ) -> None:
        """Connect to the server, subscribe to the subjects of the roles this device plays, and wait
        until every peer device of `binding` (or `peers`) is present on the session.

        Presence is a signed HELLO on each peer's subject, repeated until the peer answers (so both
        are subscribed before the first frame). Raises `HandshakeRefused` for a device without a pinned
        key, `ProtocolMismatch` (naming both hashes) when a peer runs another protocol on this session,
        and `PeerTimeout` naming what was missing after `timeout` seconds.
        """
        wanted = (set(binding.devices()) if peers is None else set(peers)) - {self.device}
        for device in sorted(wanted | set(binding.devices())):
            if device not in self.directory:
                raise HandshakeRefused("unknown-device", f"device {device} has no public key in the policy")
        if (too_long := subject_too_long(binding.protocol_hash, binding.session, binding.roles)) is not None:
            raise TransportError(too_long)  # before the server closes the connection every session shares
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        nc = await self._connect(timeout)
        self._bindings[binding.session] = binding
        self._closed.pop(binding.session, None)  # reopened: still subscribed
        if binding.session not in self._subscriptions:
            subscriptions = []
            for role in binding.roles_of(self.device):
                pattern = session_pattern(binding.session, role)
                subscriptions.append(await nc.subscribe(pattern, cb=self._receiver(binding, role)))
            self._subscriptions[binding.session] = subscriptions
            self._subjects[binding.session] = [
                subject_for(binding.protocol_hash, binding.session, r) for r in binding.roles_of(self.device)
            ]
        try:
            await confirm_subscriptions(nc, max(deadline - loop.time(), 0.1))
        except Exception as exc:
            raise PeerTimeout(
                f"the NATS server {self.server} did not confirm the subscriptions of session "
                f"{binding.session} within {timeout:g}s ({type(exc).__name__})",
                session=binding.session,
            ) from None
        changed = self._changed = self._changed or asyncio.Event()
        while True:
            changed.clear()
            failure = self._failures.get(binding.session)
            if failure is not None:
                raise failure
            missing = sorted(d for d in wanted if (d, binding.session) not in self._heard)
            if not missing:
                return
            if loop.time() >= deadline:
                raise PeerTimeout(
                    f"{', '.join(missing)} did not appear on session {binding.session} at the NATS server "
                    f"{self.server} within {timeout:g}s (running the same protocol, --param and --session?)",
                    session=binding.session,
                )
            for device in missing:
                await self._hello(binding, binding.protocol_hash, device, True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(0.2, max(deadline - loop.time(), 0.01)))

    async def _hello(
        self, binding: SessionBinding, hash_: str, device: str, reply: bool, no: str = ""
    ) -> None:
        """Our presence on `device`'s subject of protocol `hash_` (`no`: refusing its process the session)."""
        roles = binding.roles_of(device)
        if roles:
            hello = hello_frame(binding.protocol_hash, binding.session, reply, self.instance, no)
            await self._publish(subject_for(hash_, binding.session, roles[0]), hello)

    def close_session(self, session: str) -> None:
        """Forget a finished session; its peers' late frames (and the session layer's answers to them)
        still flow for a while (see `_closed`), then it is unsubscribed."""
        binding = self._bindings.pop(session, None)
        if binding is not None:
            self._closed[session] = binding
            self._closed.move_to_end(session)
            while len(self._closed) > _MAX_CLOSED:
                self._unsubscribe(self._closed.popitem(last=False)[0])
        elif session not in self._closed:
            self._unsubscribe(session)  # never opened here, or a failed open: nothing to answer
        self._heard = {(d, s) for d, s in self._heard if s != session}
        self._failures.pop(session, None)

    def _unsubscribe(self, session: str) -> None:
        self._instances.forget(session)
        self._verifier.forget(self._subjects.pop(session, ()))
        subscriptions = self._subscriptions.pop(session, [])
        if subscriptions and self._nc is not None:
            self._spawn(self._unsubscribe_all(session, subscriptions))

    async def _unsubscribe_all(self, session: str, subscriptions: list[Any]) -> None:
        for subscription in subscriptions:
            try:
                await subscription.unsubscribe()
            except Exception as exc:  # closed or draining: the server forgets it with the connection
                log.info("%s: unsubscribing session %s: %r", self.device, session, exc)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run `coroutine` as a task this transport owns (`aclose` ends it); its failure is logged."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("%s: NATS transport task %s failed: %r", self.device, task.get_name(), exc)

    # ------------------------------------------------------------------ frames

    def _next_counter(self) -> int:
        self._counter = max(self._counter + 1, time.time_ns())
        return self._counter

    async def _send(self, frame: bytes) -> None:
        if len(frame) > self.max_frame:
            raise TransportError(f"frame of {len(frame)} bytes exceeds the {self.max_frame}-byte limit")
        try:
            head = HEAD.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return  # not an envelope: nothing to route it by
        binding = self._bindings.get(head.session) or self._closed.get(head.session)
        nc = self._nc
        if binding is None or nc is None:
            return  # the session is not open here (yet, or long gone); the session layer retransmits
        self.published += 1
        if self.drop_after_frames is not None and self.published >= self.drop_after_frames:
            self.drop_after_frames = None
            self.dropped += 1
            return
        await self._publish(subject_for(binding.protocol_hash, head.session, head.receiver), frame)

    async def _publish(self, subject: str, frame: bytes) -> None:
        nc = self._nc
        if nc is None:
            return
        counter = self._next_counter()
        signature = self._sign(signed_bytes(subject, self.device, counter, frame))
        data = msgspec.msgpack.encode(SignedFrame(VERSION, self.device, counter, frame, signature))
        try:
            await nc.publish(subject, data)
        except Exception as exc:  # disconnected with a full buffer, closed, over the server's max payload
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                self._status(f"{self.device}: {self.dropped} frame(s) not published ({type(exc).__name__})")

    def _receiver(self, binding: SessionBinding, role: str) -> Callable[[Any], Any]:
        async def on_message(msg: Any) -> None:
            self.accept(binding, role, msg.subject, msg.data)

        return on_message

    def accept(self, binding: SessionBinding, role: str, subject: str, data: bytes) -> bool:
        """Check a message that arrived on `subject` (for `role` of `binding`); deliver it if sound."""
        verdict = self._verifier.check(binding, role, subject, data, time.time_ns())
        if isinstance(verdict, Rejected):
            return self._reject(subject, verdict.device, verdict.reason)
        if verdict.hello is not None:
            return self._on_hello(binding, subject, verdict.device, verdict.hello)
        session = binding.session
        is_open = session in self._bindings
        if is_open and (verdict.device, session) not in self._heard:  # a frame proves presence, as HELLO
            self._heard.add((verdict.device, session))
            if self._changed is not None:
                self._changed.set()
        handler = self._handler
        if handler is not None and (is_open or session in self._closed):
            self._instances.spoke(verdict.device, session)
            try:
                handler(self.address_of(verdict.device), verdict.frame)
            except Exception as exc:  # the contract says handlers never raise; a bug must not stop delivery
                log.error("%s: frame handler raised %r", self.device, exc)
        return True

    def _on_hello(self, binding: SessionBinding, subject: str, device: str, hello: Hello) -> bool:
        session, same = binding.session, hello.protocol_hash == binding.protocol_hash
        if hello.refused:  # our process is not the one `device` has this session with
            self._failures.setdefault(session, refused_by(device, session, hello.refused))
        # Another process of `device` than the one the session is with? (Another protocol: see below.)
        restarted = self._instances.restart(device, session, hello.instance) if same else None
        if hello.wants_reply:  # answer on the asker's own protocol's subject, matching or not
            self._spawn(self._hello(binding, hello.protocol_hash, device, False, restarted or ""))
        if restarted is not None or hello.refused:
            self._reject(subject, device, restarted or f"refused us: {hello.refused[:500]}")
        elif not same:
            error = ProtocolMismatch(binding.protocol_hash, hello.protocol_hash, session=session)
            self._failures.setdefault(session, error)
            self._reject(subject, device, str(error))
        elif session in self._bindings:  # not for a closed session: `_heard` stays bounded
            self._heard.add((device, session))
        if self._changed is not None:
            self._changed.set()
        return same and restarted is None and not hello.refused

    def _reject(self, subject: str, device: str, reason: str) -> bool:
        self.rejected += 1
        message = f"dropped a message on {subject} claiming to be from {device}: {reason}"
        if len(self.refusals) < _MAX_REFUSALS_KEPT:
            self.refusals.append(message)
        if self.rejected == 1 or self.rejected % 1000 == 0:
            log.warning("%s: %s (%d so far)", self.device, message, self.rejected)
            self._status(message)
        return False

    def _status(self, line: str) -> None:
        log.info("%s", line)
        if self.on_status is not None:
            self.on_status(line)
