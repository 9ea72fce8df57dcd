"""`nats://host:port`: a NATS server as the broker between devices (SPEC §5.7), on `nats-py` (extra `[nats]`).

Unlike `tcp://` and `ws://` there is no connection per pair of devices: every device connects to the
server and subscribes to one subject per (protocol hash, session, role it plays); a frame for a role is
published on that role's subject. So many sessions and many processes share one server, and a role can
move between hosts without its peers being reconfigured (they only know the server).

The broker relays but is not trusted. Every frame travels inside a `SignedFrame`: the sender device's
Ed25519 signature over (domain tag, subject, device, counter, frame). The receiver checks, before the
session layer sees anything, that
- the signature verifies against the key the policy pins for the named device (no forgery),
- the subject signed is the subject it arrived on (no redirecting a frame to another session or role),
- the counter is fresher than the last one accepted from that device on that subject and within
  `max_skew` seconds of the receiver's clock (no replay: counters are wall-clock nanoseconds, so a
  sender that restarts continues above its old values, and a frame recorded in an earlier run of the
  same session id is refused once it is `max_skew` old; NATS keeps nothing for later subscribers, so
  no genuine frame arrives that late. Within those seconds a new process of the same session id
  could be fed such a frame: closing that needs a nonce from the receiver, a handshake the broker
  design avoids),
- the envelope names this subject's session and receiving role, and a sender role its device plays.
Anything else is dropped with a logged reason (`refusals`). Frames can still be lost (server restart,
slow consumer); the transport is unreliable (`reliable = False`), so the session layer's
acknowledgements and retransmission run unchanged above it.

`nats-py` is imported only when the transport starts: without the extra the error is one line naming
`pip install 'aura-choreo[nats]'`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from aura_choreo.errors import HandshakeRefused, PeerTimeout, TransportError
from aura_choreo.transports.base import DEFAULT_MAX_FRAME, Address, FrameHandler, Link, Transport
from aura_choreo.transports.carrier import PeerDevice
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity, verify_signature
from aura_choreo.transports.net.signed import HEAD, SIGNED, VERSION, SignedFrame, signed_bytes, subject_for

log = logging.getLogger("aura_choreo.nats")

StatusCallback = Callable[[str], None]
_MAX_REFUSALS_KEPT = 200


def _import_nats() -> Any:
    try:
        return importlib.import_module("nats")
    except ImportError as exc:
        raise TransportError(
            f"`nats://` needs an optional dependency ({exc.name}): pip install 'aura-choreo[nats]'"
        ) from None


class _NatsLink(Link):
    def __init__(self, transport: NatsTransport, address: Address) -> None:
        self._transport = transport
        self._address = address
        self._closed = False

    @property
    def address(self) -> Address:
        return self._address

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, to: Address, frame: bytes) -> None:
        if self._closed:
            raise TransportError(f"link {self._address!r} is closed")
        await self._transport._send(frame)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
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
        self._subscriptions: dict[str, list[Any]] = {}
        self._last_counter: dict[tuple[str, str], int] = {}
        self._subjects: dict[str, list[str]] = {}
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
        _import_nats()  # fail early, in one line, without the extra
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closing = True
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
        nats = _import_nats()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last = "no attempt"
        while not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                # nats-py retries a first connection forever when reconnection is allowed: bound it.
                nc = await asyncio.wait_for(self._dial(nats, remaining), remaining)
            except Exception as exc:  # nats-py raises its own errors (NoServersError, ...) and OSError
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                await asyncio.sleep(min(self.reconnect_wait, max(deadline - loop.time(), 0.0)))
                continue
            self._nc = nc
            self.connections_made += 1
            self._status(f"{self.device} connected to the NATS server {self.server}")
            return nc
        raise PeerTimeout(f"could not reach the NATS server {self.server} within {timeout:g}s ({last})")

    async def _dial(self, nats: Any, remaining: float) -> Any:
        return await nats.connect(
            servers=[self.server],
            name=f"aura-choreo:{self.device}",
            connect_timeout=max(min(remaining, 2.0), 0.1),
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=self.reconnect_wait,
            ping_interval=5,
            max_outstanding_pings=2,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )

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
        """Connect to the server and subscribe to the subjects of the roles this device plays.

        Peers need not be there yet: frames published before they subscribe are lost and the session
        layer retransmits them. Raises `HandshakeRefused` for a device without a pinned key and
        `PeerTimeout` if the server cannot be reached within `timeout` seconds.
        """
        for device in sorted(binding.devices() if peers is None else peers | {self.device}):
            if device not in self.directory:
                raise HandshakeRefused("unknown-device", f"device {device} has no public key in the policy")
        nc = await self._connect(timeout)
        self._bindings[binding.session] = binding
        if binding.session not in self._subscriptions:
            subscriptions = []
            for role in binding.roles_of(self.device):
                subject = subject_for(binding.protocol_hash, binding.session, role)
                subscriptions.append(await nc.subscribe(subject, cb=self._receiver(binding, role, subject)))
            self._subscriptions[binding.session] = subscriptions
            self._subjects[binding.session] = [s.subject for s in subscriptions]
        try:
            await nc.flush(timeout=max(timeout, 0.1))  # the server has our subscriptions
        except Exception as exc:
            raise PeerTimeout(
                f"the NATS server {self.server} did not confirm the subscriptions of session "
                f"{binding.session} within {timeout:g}s ({type(exc).__name__})",
                session=binding.session,
            ) from None

    def register_session(self, binding: SessionBinding) -> None:
        self._bindings[binding.session] = binding

    def close_session(self, session: str) -> None:
        """Forget a finished session: unsubscribe (later frames for it are not delivered)."""
        self._bindings.pop(session, None)
        for subscription in self._subscriptions.pop(session, []):
            asyncio.get_running_loop().create_task(self._unsubscribe(subscription))
        done = set(self._subjects.pop(session, ()))
        self._last_counter = {k: v for k, v in self._last_counter.items() if k[1] not in done}

    @staticmethod
    async def _unsubscribe(subscription: Any) -> None:
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()

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
        binding = self._bindings.get(head.session)
        nc = self._nc
        if binding is None or nc is None:
            return  # the session is not open here (yet, or any more); the session layer retransmits
        subject = subject_for(binding.protocol_hash, head.session, head.receiver)
        counter = self._next_counter()
        signature = self.identity.sign(signed_bytes(subject, self.device, counter, frame))
        data = msgspec.msgpack.encode(SignedFrame(VERSION, self.device, counter, frame, signature))
        self.published += 1
        if self.drop_after_frames is not None and self.published >= self.drop_after_frames:
            self.drop_after_frames = None
            self.dropped += 1
            return
        try:
            await nc.publish(subject, data)
        except Exception as exc:  # disconnected with a full buffer, closed, over the server's max payload
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                self._status(f"{self.device}: {self.dropped} frame(s) not published ({type(exc).__name__})")

    def _receiver(self, binding: SessionBinding, role: str, subject: str) -> Callable[[Any], Any]:
        async def on_message(msg: Any) -> None:
            self.accept(binding, role, msg.subject, msg.data)

        return on_message

    def accept(self, binding: SessionBinding, role: str, subject: str, data: bytes) -> bool:
        """Check a message that arrived on `subject` (for `role` of `binding`); deliver it if sound."""
        try:
            signed = SIGNED.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return self._reject(subject, "?", "not a signed frame")
        device = signed.device
        key = self.directory.get(device)
        if signed.version != VERSION:
            return self._reject(subject, device, f"unknown frame version {signed.version}")
        if key is None:
            return self._reject(subject, device, "a device with no public key in the policy")
        vouched = signed_bytes(subject, device, signed.counter, signed.frame)
        if not verify_signature(key, signed.signature, vouched):
            return self._reject(subject, device, "bad signature (forged or redirected)")
        if abs(time.time_ns() - signed.counter) > self.max_skew * 1e9:
            return self._reject(subject, device, "stale counter (replayed?)")
        last = self._last_counter.get((device, subject), 0)
        if signed.counter <= last:
            return self._reject(subject, device, "counter not fresher than the last accepted (replayed)")
        try:
            head = HEAD.decode(signed.frame)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return self._reject(subject, device, "signed, but not an envelope")
        sender_device = binding.roles.get(head.sender)
        if head.session != binding.session or head.receiver != role or sender_device != device:
            return self._reject(subject, device, f"envelope {head.sender}->{head.receiver} is not for it")
        self._last_counter[(device, subject)] = signed.counter
        handler = self._handler
        if handler is not None and binding.session in self._bindings:
            try:
                handler(self.address_of(device), signed.frame)
            except Exception as exc:  # the contract says handlers never raise; a bug must not stop delivery
                log.error("%s: frame handler raised %r", self.device, exc)
        return True

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
