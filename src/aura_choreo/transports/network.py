"""A seeded network model: per-link latency, bandwidth, loss, duplication, reordering.

The model is data (frozen dataclasses); `NetworkState` applies it, together with a fault schedule
(`transports.faults`), to each transmission and answers "when does each copy arrive?". It is pure and
deterministic: randomness comes from one `random.Random` per link, seeded from the run's seed and the
link's name, so removing a fault from a schedule does not reshuffle the draws of unrelated links.
Times are in milliseconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from aura_choreo.transports.faults import (
    BudgetExhaustion,
    Crash,
    DropMessage,
    DuplicateMessage,
    FaultSchedule,
    Partition,
)


@dataclass(frozen=True)
class FixedLatency:
    """Every message takes exactly `ms`."""

    ms: float = 1.0


@dataclass(frozen=True)
class UniformLatency:
    """Latency drawn uniformly from [low_ms, high_ms]."""

    low_ms: float
    high_ms: float


@dataclass(frozen=True)
class ExponentialLatency:
    """Latency `min_ms` plus an exponential tail with mean `mean_ms`."""

    mean_ms: float
    min_ms: float = 0.0


Latency = FixedLatency | UniformLatency | ExponentialLatency


def sample_latency(latency: Latency, rng: random.Random) -> float:
    """One latency draw in ms."""
    if isinstance(latency, FixedLatency):
        return latency.ms
    if isinstance(latency, UniformLatency):
        return rng.uniform(latency.low_ms, latency.high_ms)
    return latency.min_ms + rng.expovariate(1.0 / latency.mean_ms) if latency.mean_ms > 0 else latency.min_ms


@dataclass(frozen=True)
class LinkModel:
    """How one directed link behaves.

    `bandwidth` is in bytes per second (None: unlimited); `drop` and `duplicate` are probabilities per
    transmission; with `reorder`, per-link FIFO is not enforced and each copy gets extra jitter of up to
    `reorder_jitter_ms`, so later messages may overtake earlier ones.
    """

    latency: Latency = FixedLatency(1.0)
    bandwidth: float | None = None
    drop: float = 0.0
    duplicate: float = 0.0
    reorder: bool = False
    reorder_jitter_ms: float = 5.0

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} probability must be in [0, 1], got {p}")
        if self.bandwidth is not None and self.bandwidth <= 0:
            raise ValueError(f"bandwidth must be positive, got {self.bandwidth}")


@dataclass(frozen=True)
class LinkOverride:
    """A link model for one directed link (src -> dst) that replaces the network default."""

    src: str
    dst: str
    model: LinkModel


@dataclass(frozen=True)
class NetworkModel:
    """The default link behaviour plus per-link overrides."""

    default: LinkModel = LinkModel()
    links: tuple[LinkOverride, ...] = ()

    def link(self, src: str, dst: str) -> LinkModel:
        """The model of the directed link src -> dst."""
        for override in self.links:
            if override.src == src and override.dst == dst:
                return override.model
        return self.default


@dataclass
class _LinkState:
    rng: random.Random
    transmissions: int = 0
    busy_until_ms: float = 0.0
    last_delivery_ms: float = 0.0


@dataclass(frozen=True)
class Transmission:
    """The fate of one transmission: the arrival time of each copy (empty: lost) and why it was lost."""

    arrivals_ms: tuple[float, ...]
    index: int
    lost_because: str | None = None


@dataclass
class NetworkState:
    """The mutable state of one simulated run: per-link draws, counters and queues.

    One instance per run; it is never shared between runs, so runs are independent and replayable.
    """

    model: NetworkModel
    schedule: FaultSchedule
    seed: int
    _links: dict[tuple[str, str], _LinkState] = field(default_factory=dict)
    _partitions: tuple[Partition, ...] = ()
    _crashes: tuple[Crash, ...] = ()
    _budgets: tuple[BudgetExhaustion, ...] = ()
    _drops: frozenset[tuple[str, str, int]] = frozenset()
    _duplicates: frozenset[tuple[str, str, int]] = frozenset()

    def __post_init__(self) -> None:
        # Split the schedule by kind once: every frame consults it.
        events = self.schedule
        self._partitions = tuple(e for e in events if isinstance(e, Partition))
        self._crashes = tuple(e for e in events if isinstance(e, Crash))
        self._budgets = tuple(e for e in events if isinstance(e, BudgetExhaustion))
        self._drops = frozenset((e.src, e.dst, e.index) for e in events if isinstance(e, DropMessage))
        self._duplicates = frozenset(
            (e.src, e.dst, e.index) for e in events if isinstance(e, DuplicateMessage)
        )

    def _link_state(self, src: str, dst: str) -> _LinkState:
        state = self._links.get((src, dst))
        if state is None:
            state = _LinkState(random.Random(f"{self.seed}:{src}->{dst}"))
            self._links[(src, dst)] = state
        return state

    def transmit(self, src: str, dst: str, size: int, now_ms: float) -> Transmission:
        """Decide the fate of one frame of `size` bytes sent on src -> dst at `now_ms`."""
        link = self.model.link(src, dst)
        state = self._link_state(src, dst)
        index = state.transmissions
        state.transmissions += 1
        # Draw every random number whatever the outcome, so one link's sequence of draws depends only
        # on how many frames it carried, not on which of them the schedule removed.
        lost = state.rng.random() < link.drop
        duplicated = state.rng.random() < link.duplicate
        latencies = [sample_latency(link.latency, state.rng), sample_latency(link.latency, state.rng)]
        jitters = [
            state.rng.uniform(0.0, link.reorder_jitter_ms),
            state.rng.uniform(0.0, link.reorder_jitter_ms),
        ]

        reason = self.blocked(src, dst, now_ms)
        if reason is None and lost:
            reason = "dropped"
        if reason is None and (src, dst, index) in self._drops:
            reason = "dropped by schedule"
        if reason is not None:
            return Transmission((), index, reason)

        copies = 2 if duplicated or (src, dst, index) in self._duplicates else 1
        start = max(now_ms, state.busy_until_ms)
        departure = start + (size / link.bandwidth * 1000.0 if link.bandwidth else 0.0)
        state.busy_until_ms = departure
        arrivals = []
        for copy in range(copies):
            arrival = departure + latencies[copy]
            if link.reorder:
                arrival += jitters[copy]
            else:
                arrival = max(arrival, state.last_delivery_ms)
                state.last_delivery_ms = arrival
            arrivals.append(arrival)
        return Transmission(tuple(arrivals), index)

    def blocked(self, src: str, dst: str, now_ms: float) -> str | None:
        """Why a frame on src -> dst cannot pass at `now_ms` (partition or a crashed end), or None."""
        for partition in self._partitions:
            if partition.cuts(src, dst, now_ms):
                return "partitioned"
        if self.is_down(src, now_ms):
            return f"{src} crashed"
        if self.is_down(dst, now_ms):
            return f"{dst} crashed"
        return None

    def is_down(self, role: str, now_ms: float) -> bool:
        """Whether `role`'s node is crashed at `now_ms`."""
        return any(e.role == role and e.down_at(now_ms) for e in self._crashes)

    def budget_exhausted(self, role: str, peer: str, now_ms: float) -> bool:
        """Whether a scheduled budget exhaustion stops `role` from sending to `peer` at `now_ms`."""
        return any(e.role == role and e.at_ms <= now_ms and e.peer in (None, peer) for e in self._budgets)
