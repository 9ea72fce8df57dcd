"""A device on `nats://` whose session also has point-to-point peers (tcp/ws/quic): both at once.

The rule (one place, `broker_pair`): two devices talk through the broker when both are on `nats://`;
any other pair talks over a point-to-point connection. A device on the broker has no listening address
of its own, so with a point-to-point peer it dials that peer (the peer, seeing a device without a
point-to-point address, waits to be dialed: `NetworkTransport` already treats such devices so). A
device that is not on the broker never needs it: its `nats://` peers dial it, and a plain
`NetworkTransport` (those peers without an address) serves it; only the device on the broker with a
point-to-point peer needs this transport, which routes each frame by its destination's device.

Both halves keep their own authentication (TLS with pinned keys per connection; signed frames on the
broker), so mixing changes which checks a frame passes, never whether it is checked.
"""

from __future__ import annotations

import asyncio

from aura_choreo.transports.base import (
    DEFAULT_MAX_FRAME,
    Address,
    ClosableLink,
    FrameHandler,
    Link,
    Transport,
)
from aura_choreo.transports.carrier import NetworkTransport
from aura_choreo.transports.nats_broker import NatsTransport
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.peering import StatusCallback


def on_broker(address: str | None) -> bool:
    return bool(address) and str(address).startswith("nats://")


def broker_pair(own_address: str | None, peer_address: str | None) -> bool:
    """Whether two devices with these addresses talk through the broker (else point to point)."""
    return on_broker(own_address) and on_broker(peer_address)


class _MixedLink(ClosableLink):
    def __init__(self, transport: MixedTransport, address: Address, links: tuple[Link, Link]) -> None:
        super().__init__(address)
        self._transport = transport
        self._links = links

    async def _deliver(self, to: Address, frame: bytes) -> None:
        p2p, broker = self._links
        await (broker if self._transport.via_broker(to) else p2p).send(to, frame)

    def _release(self) -> None:
        for link in self._links:
            link.close()


class MixedTransport(Transport):
    """A `NetworkTransport` (point-to-point peers, dialed) and a `NatsTransport` (peers on the broker)
    behind one `Transport`, with the session API of both (`open_session`, `close_session`, ...)."""

    reliable = False

    def __init__(self, p2p: NetworkTransport, broker: NatsTransport, broker_devices: frozenset[str]) -> None:
        self.p2p = p2p
        self.broker = broker
        self.broker_devices = broker_devices
        self.device = p2p.device
        self.max_frame = min(p2p.max_frame, broker.max_frame, DEFAULT_MAX_FRAME)

    @property
    def local_address(self) -> Address:
        return self.broker.local_address  # `device:NAME`: on the broker this device has no other address

    def address_of(self, device: str) -> Address:
        return (
            self.broker.address_of(device) if device in self.broker_devices else self.p2p.address_of(device)
        )

    def via_broker(self, address: Address) -> bool:
        return any(address == self.broker.address_of(d) for d in self.broker_devices)

    @property
    def on_status(self) -> StatusCallback | None:
        return self.p2p.on_status

    @on_status.setter
    def on_status(self, callback: StatusCallback | None) -> None:
        self.p2p.on_status = self.broker.on_status = callback

    @property
    def drop_after_frames(self) -> int | None:
        return self.p2p.drop_after_frames

    @drop_after_frames.setter
    def drop_after_frames(self, count: int | None) -> None:
        self.p2p.drop_after_frames = count

    @property
    def connections_made(self) -> int:
        return self.p2p.connections_made + self.broker.connections_made

    @property
    def refusals(self) -> list[str]:
        return [*self.p2p.refusals, *self.broker.refusals]

    async def __aenter__(self) -> MixedTransport:
        await self.p2p.__aenter__()
        try:
            await self.broker.__aenter__()
        except BaseException:
            await self.p2p.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await asyncio.gather(self.p2p.aclose(), self.broker.aclose())

    def attach(self, address: Address, on_frame: FrameHandler) -> Link:
        links = (self.p2p.attach(address, on_frame), self.broker.attach(address, on_frame))
        return _MixedLink(self, address, links)

    async def open_session(
        self, binding: SessionBinding, *, peers: set[str] | None = None, timeout: float = 30.0
    ) -> None:
        """Open the session on both halves, each with its own peers (see the module doc)."""
        wanted = (set(binding.devices()) if peers is None else set(peers)) - {self.device}
        await asyncio.gather(
            self.p2p.open_session(binding, peers=wanted - self.broker_devices, timeout=timeout),
            self.broker.open_session(binding, peers=wanted & self.broker_devices, timeout=timeout),
        )

    def close_session(self, session: str) -> None:
        self.p2p.close_session(session)
        self.broker.close_session(session)
