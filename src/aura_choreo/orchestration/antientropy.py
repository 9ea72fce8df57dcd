"""`AntiEntropy` (SPEC §8.3): periodic reconciliation of entry sets with Bloom-filter digests.

One round: this replica picks peers (`PeerSelection.random(k)`, `round_robin(k)` or `priority(score,
k)`) and runs `anti_entropy.choreo` with each: it sends a digest of its entry ids; the peer answers with
the entries that digest lacks and its own digest; this side sends the entries the peer's digest lacks.
Bytes on the wire grow with the difference, not with the state (plus about 10 bits per entry of digest
at 1% false positives). Each round uses fresh filter seeds, so an entry a false positive hid in one
round is found in a later one; after a partition heals, repeated rounds make all replicas converge.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from aura_choreo.errors import AuraChoreoError
from aura_choreo.orchestration.bloom import BloomFilter
from aura_choreo.orchestration.entries import EntrySet, pack_entries, unpack_entries
from aura_choreo.orchestration.exchange import Device, ExchangeOptions, run_exchange, shipped_protocol
from aura_choreo.orchestration.retry import CoordinationError
from aura_choreo.runtime import Endpoint

Strategy = Literal["random", "round_robin", "priority"]
DEFAULT_OPTIONS = ExchangeOptions()


@dataclass(frozen=True)
class PeerSelection:
    """Which peers a round talks to: `k` of them, at random, in turn, or by the highest score."""

    strategy: Strategy = "random"
    k: int = 1
    score: Callable[[str], float] | None = None

    @classmethod
    def random(cls, k: int = 1) -> PeerSelection:
        return cls("random", k)

    @classmethod
    def round_robin(cls, k: int = 1) -> PeerSelection:
        return cls("round_robin", k)

    @classmethod
    def priority(cls, score: Callable[[str], float], k: int = 1) -> PeerSelection:
        """The `k` peers with the highest `score(device name)` (ties by name)."""
        return cls("priority", k, score)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"a round talks to at least one peer, got k={self.k}")
        if self.strategy == "priority" and self.score is None:
            raise ValueError("priority selection needs a score function")


@dataclass
class AntiEntropyMetrics:
    """Counters of one replica (bytes are digest and entry payload bytes this side sent or received)."""

    rounds: int = 0
    exchanges: int = 0
    errors: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    entries_sent: int = 0
    entries_received: int = 0
    digest_bytes_sent: int = 0
    latency_total: float = 0.0
    last_errors: list[str] = field(default_factory=list)


class AntiEntropy:
    """The anti-entropy agent of one replica: `entries` on `device`, reconciling with its peers."""

    def __init__(
        self,
        device: Device,
        entries: EntrySet,
        *,
        selection: PeerSelection = PeerSelection(),
        interval: float = 1.0,
        fp_rate: float = 0.01,
        seed: int = 0,
        options: ExchangeOptions = DEFAULT_OPTIONS,
    ) -> None:
        self.device = device
        self.entries = entries
        self.selection = selection
        self.interval = interval
        self.fp_rate = fp_rate
        self.options = options
        self.metrics = AntiEntropyMetrics()
        self.peers: list[AntiEntropy] = []
        self._rng = random.Random(f"{seed}:{device.name}")
        self._next = 0

    def add_peers(self, *peers: AntiEntropy) -> None:
        for peer in peers:
            if peer is not self and peer not in self.peers:
                self.peers.append(peer)

    def choose_peers(self) -> list[AntiEntropy]:
        """This round's peers, by the selection strategy."""
        k = min(self.selection.k, len(self.peers))
        if k == 0:
            return []
        if self.selection.strategy == "random":
            return self._rng.sample(self.peers, k)
        if self.selection.strategy == "round_robin":
            chosen = [self.peers[(self._next + i) % len(self.peers)] for i in range(k)]
            self._next = (self._next + k) % len(self.peers)
            return chosen
        score = self.selection.score
        assert score is not None  # checked in PeerSelection
        return sorted(self.peers, key=lambda p: (-score(p.device.name), p.device.name))[:k]

    def digest(self) -> BloomFilter:
        """A Bloom filter of every entry id held, with a fresh seed."""
        ids = list(self.entries.entry_ids())
        bloom = BloomFilter(max(len(ids), 16), self.fp_rate, seed=self._rng.getrandbits(64))
        bloom.update(ids)
        return bloom

    async def reconcile(self, peer: AntiEntropy) -> None:
        """One exchange with `peer` (this side initiates); raises the exchange's typed error."""
        if peer.entries.name != self.entries.name:
            raise CoordinationError(f"cannot reconcile {self.entries.name!r} with {peer.entries.name!r}")
        started = time.perf_counter()
        try:
            await run_exchange(
                shipped_protocol("anti_entropy.choreo"),
                {"Initiator": (self.device, self._initiate), "Responder": (peer.device, peer._respond)},
                self.options,
            )
        except BaseException:
            self.metrics.errors += 1
            raise
        self.metrics.exchanges += 1
        self.metrics.latency_total += time.perf_counter() - started

    async def run_round(self) -> int:
        """Reconcile with this round's peers; failures are counted (and kept), not raised. Returns how
        many exchanges completed."""
        self.metrics.rounds += 1
        done = 0
        for peer in self.choose_peers():
            try:
                await self.reconcile(peer)
                done += 1
            except (AuraChoreoError, TimeoutError) as exc:
                self.metrics.last_errors = [*self.metrics.last_errors[-9:], f"{type(exc).__name__}: {exc}"]
        return done

    async def run(self, rounds: int | None = None) -> None:
        """A round every `interval` seconds (of the loop's clock), `rounds` times or until cancelled."""
        count = 0
        while rounds is None or count < rounds:
            await self.run_round()
            count += 1
            await asyncio.sleep(self.interval)

    # The two roles of anti_entropy.choreo ----------------------------------------------------------
    def _send_bytes(self, data: bytes, entries: int = 0, digest: bool = False) -> bytes:
        self.metrics.bytes_sent += len(data)
        self.metrics.entries_sent += entries
        if digest:
            self.metrics.digest_bytes_sent += len(data)
        return data

    def _received(self, *payloads: bytes) -> None:
        self.metrics.bytes_received += sum(len(p) for p in payloads)

    async def _initiate(self, ep: Endpoint) -> None:
        mine = self._send_bytes(self.digest().to_bytes(), digest=True)
        await ep.send("Responder", ep.message("Digest", store=self.entries.name, filter=mine))
        reply = await ep.recv("Responder", "Reconcile")
        self._received(reply.filter, reply.entries)
        theirs = BloomFilter.from_bytes(reply.filter)
        got = unpack_entries(reply.entries)
        self.metrics.entries_received += len(got)
        self.entries.absorb(got)
        missing = self.entries.entries_not_in(theirs)
        await ep.send(
            "Responder", ep.message("Missing", entries=self._send_bytes(pack_entries(missing), len(missing)))
        )

    async def _respond(self, ep: Endpoint) -> None:
        digest = await ep.recv("Initiator", "Digest")
        self._received(digest.filter)
        if digest.store != self.entries.name:
            raise CoordinationError(
                f"{self.device.name} reconciles {self.entries.name!r}, not {digest.store!r}"
            )
        theirs = BloomFilter.from_bytes(digest.filter)
        missing = self.entries.entries_not_in(theirs)
        message = ep.message(
            "Reconcile",
            filter=self._send_bytes(self.digest().to_bytes(), digest=True),
            entries=self._send_bytes(pack_entries(missing), len(missing)),
        )
        await ep.send("Initiator", message)
        final = await ep.recv("Initiator", "Missing")
        self._received(final.entries)
        got = unpack_entries(final.entries)
        self.metrics.entries_received += len(got)
        self.entries.absorb(got)
