"""Keep-alive and reconnection decisions, as pure functions of the clock readings they are given."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field

from aura_choreo.transports.backoff import backoff_delay


class Liveness(enum.Enum):
    IDLE = "idle"
    """Nothing to do until `KeepAlive.next_check`."""
    PING = "ping"
    """We have sent nothing for `interval`: send a PING so the peer hears from us."""
    DEAD = "dead"
    """The peer has sent nothing for `timeout`: close the connection (the dialer reconnects)."""


@dataclass
class KeepAlive:
    """Keep-alive state of one connection; times are the event loop's clock."""

    interval: float
    timeout: float
    last_received: float
    last_sent: float

    def received(self, now: float) -> None:
        self.last_received = now

    def sent(self, now: float) -> None:
        self.last_sent = now

    def poll(self, now: float) -> Liveness:
        if now - self.last_received >= self.timeout:
            return Liveness.DEAD
        if now - self.last_sent >= self.interval:
            return Liveness.PING
        return Liveness.IDLE

    def next_check(self, now: float) -> float:
        """Seconds until `poll` may answer something other than IDLE."""
        due = min(self.last_received + self.timeout, self.last_sent + self.interval)
        return max(due - now, 0.0)


@dataclass
class Backoff:
    """Exponential backoff with "equal" jitter (half the ceiling, plus up to half again), seeded
    (deterministic tests), capped at `maximum`; the delay rule is `transports.backoff`'s, shared with
    every other retry in the package."""

    initial: float = 0.05
    maximum: float = 2.0
    factor: float = 2.0
    seed: int = 0
    attempts: int = 0
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def next_delay(self) -> float:
        """The pause before the next attempt (grows with each call until `reset`)."""
        self.attempts += 1
        return backoff_delay(self.attempts, self.initial, self.maximum, "equal", self._random, self.factor)

    def reset(self) -> None:
        self.attempts = 0
