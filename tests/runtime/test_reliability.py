"""The session layer over a lossy transport: drops, duplicates and reordering never reach the protocol."""

from __future__ import annotations

import asyncio
import random

from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.base import Address, FrameHandler, Link, Transport


class LossyTransport(Transport):
    """Drops, duplicates and delays (so reorders) frames, seeded."""

    reliable = False

    def __init__(self, seed: int, drop: float = 0.2, duplicate: float = 0.2, max_delay: float = 0.003):
        self.rng = random.Random(seed)
        self.drop, self.duplicate, self.max_delay = drop, duplicate, max_delay
        self.handlers: dict[Address, FrameHandler] = {}
        self.dropped = self.duplicated = 0

    def attach(self, address: Address, on_frame: FrameHandler) -> Link:
        self.handlers[address] = on_frame
        return _LossyLink(self, address)

    def post(self, sender: Address, to: Address, frame: bytes) -> None:
        if self.rng.random() < self.drop:
            self.dropped += 1
            return
        copies = 2 if self.rng.random() < self.duplicate else 1
        self.duplicated += copies - 1
        loop = asyncio.get_running_loop()
        for _ in range(copies):
            loop.call_later(self.rng.random() * self.max_delay, self._deliver, sender, to, frame)

    def _deliver(self, sender: Address, to: Address, frame: bytes) -> None:
        handler = self.handlers.get(to)
        if handler is not None:
            handler(sender, frame)


class _LossyLink(Link):
    def __init__(self, transport: LossyTransport, address: Address) -> None:
        self.transport, self._address, self._closed = transport, address, False

    @property
    def address(self) -> Address:
        return self._address

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, to: Address, frame: bytes) -> None:
        self.transport.post(self._address, to, frame)

    def close(self) -> None:
        self._closed = True
        self.transport.handlers.pop(self._address, None)


STREAM = choreography(
    """
    choreography Stream {
        roles: A, B;
        loop (count: 30) { A -> B: Item(n: i64); }
        B -> A: Total(sum: i64);
    }
    """
)


async def test_drops_duplicates_and_reordering_are_repaired_in_order() -> None:
    for seed in range(3):
        transport = LossyTransport(seed)
        session = STREAM.session(peer_timeout=10)

        async def a(ep: Endpoint) -> int:
            for n in range(30):
                await ep.send("B", ep.message("Item", n=n))
            return int((await ep.recv("B")).sum)

        async def b(ep: Endpoint) -> list[int]:
            got = [(await ep.recv("A")).n for _ in range(30)]
            await ep.send("A", ep.message("Total", sum=sum(got)))
            return got

        running = run_session(session, transport, {"A": a, "B": b}, retransmit_after=0.01)
        results = await asyncio.wait_for(running, 20)
        assert results["B"] == list(range(30))
        assert results["A"] == sum(range(30))
        assert transport.dropped > 0
        assert transport.duplicated > 0


async def test_default_behaviour_runs_a_branching_protocol_over_a_lossy_network() -> None:
    protocol = choreography(
        """
        choreography Auction {
            roles: Seller, Bidder[2];
            Seller -> Bidder[*]: Open(item: String);
            Bidder[*] -> Seller: Bid(amount: u64);
            choice Seller {
                sold: { Seller -> Bidder[*]: Sold(amount: u64); }
                unsold: { Seller -> Bidder[*]: Unsold; }
            }
        }
        """
    )
    for seed in range(3):
        session = protocol.session(peer_timeout=10)
        running = run_session(session, LossyTransport(seed + 10), seed=seed, retransmit_after=0.01)
        await asyncio.wait_for(running, 20)
        assert len(session.trace.of_kind("recv")) == 6


async def test_a_node_lingers_until_its_last_frames_are_acknowledged() -> None:
    from aura_choreo.runtime.node import Node

    protocol = choreography("choreography Last { roles: A, B; A -> B: Final(n: i64); }")
    session = protocol.session(peer_timeout=1)
    transport = LossyTransport(seed=1, drop=0.6, duplicate=0.0)  # drops the first frame
    received: list[int] = []

    async def sender() -> None:
        async with Node(transport, "A", retransmit_after=0.005, linger=0.3) as node:
            async with session.endpoint("A", node) as ep:
                await ep.send("B", ep.message("Final", n=7))
        # The node is closed: the frame got through before it closed (or it would be lost for good).

    async def receiver() -> None:
        async with Node(transport, "B", retransmit_after=0.005) as node:
            async with session.endpoint("B", node) as ep:
                received.append((await ep.recv("A")).n)
            await asyncio.sleep(0.3)  # keep acknowledging retransmissions for a while

    async with asyncio.TaskGroup() as group:
        group.create_task(receiver())
        group.create_task(sender())
    assert received == [7]


async def test_a_node_leaving_right_after_its_last_receive_still_acknowledges_it() -> None:
    from aura_choreo.runtime.node import Node

    protocol = choreography("choreography Last { roles: A, B; A -> B: Final(n: i64); }")
    session = protocol.session(peer_timeout=1)
    transport = LossyTransport(seed=1, drop=0.0, duplicate=0.0, max_delay=0.0)
    nodes: dict[str, Node] = {}

    async def sender() -> None:
        async with Node(transport, "A", retransmit_after=0.05, linger=0.3) as node:
            nodes["A"] = node
            async with session.endpoint("A", node) as ep:
                await ep.send("B", ep.message("Final", n=7))

    async def receiver() -> None:
        async with Node(transport, "B", retransmit_after=0.05) as node:
            nodes["B"] = node
            async with session.endpoint("B", node) as ep:
                await ep.recv("A")
        # Leaving at once: the acknowledgement the receive owes must not die with the node.

    async with asyncio.TaskGroup() as group:
        group.create_task(receiver())
        group.create_task(sender())
    assert nodes["B"].stats.acks_sent == 1
    assert nodes["A"].stats.retransmissions == 0


class _LabelDropTransport(LossyTransport):
    """Always drops frames carrying `stuck`; drops only the first frame carrying `urgent`."""

    def __init__(self) -> None:
        super().__init__(seed=0, drop=0.0, duplicate=0.0, max_delay=0.0)
        self.urgent_dropped = False
        self.urgent_arrived_at: float | None = None

    def post(self, sender: Address, to: Address, frame: bytes) -> None:
        if b"Stuck" in frame:
            return
        if b"Urgent" in frame:
            if not self.urgent_dropped:
                self.urgent_dropped = True
                return
            if self.urgent_arrived_at is None:
                self.urgent_arrived_at = asyncio.get_running_loop().time()
        super().post(sender, to, frame)


def test_a_backed_off_frame_does_not_delay_a_new_frames_first_retransmission() -> None:
    from aura_choreo.runtime.node import Node
    from aura_choreo.runtime.wire import KIND_DATA, NIL, WIRE_VERSION, Envelope
    from aura_choreo.testing.virtual_time import run_virtual

    transport = _LabelDropTransport()

    def envelope(session: str, label: str) -> Envelope:
        return Envelope(WIRE_VERSION, KIND_DATA, session, "P", "A", "B", label, 1, NIL)

    async def main() -> float:
        loop = asyncio.get_running_loop()
        async with Node(transport, "B"), Node(transport, "A", linger=0.0) as a:
            await a.send("B", envelope("s1", "Stuck"))  # never acknowledged: backs off to 5 s
            await asyncio.sleep(16.5)  # the stuck frame is next due at 21.2 s
            sent_at = loop.time()
            await a.send("B", envelope("s2", "Urgent"))  # first copy lost
            await asyncio.sleep(10.0)
        assert transport.urgent_arrived_at is not None
        return transport.urgent_arrived_at - sent_at

    # Retransmitted after `retransmit_after` (0.2 s), not after the stuck frame's next 5 s deadline.
    assert run_virtual(main()) < 1.0
