"""The deadline role code runs under, carried by every envelope it sends (SPEC §8.6).

`DEADLINE` holds an absolute time on the event loop's clock (virtual under simulation), or None. It is
a `ContextVar` so that concurrent tasks each have their own and a task started inside a deadline
inherits it (asyncio copies the context into new tasks). `orchestration.timeouts` sets it; the
endpoint reads it at each send (`outgoing_ms`) and records what arrives (`arrival`), so a callee
knows how much time its caller has left. The envelope carries the remaining time, not the absolute
deadline, because the two devices' clocks need not agree (`runtime.wire`, version 2).
"""

from __future__ import annotations

from contextvars import ContextVar

DEADLINE: ContextVar[float | None] = ContextVar("aura_choreo_deadline", default=None)
"""The current task's deadline on the loop's clock (None: none)."""


def outgoing_ms(deadline: float | None, now: float) -> int | None:
    """The `deadline_ms` an envelope sent at `now` carries: whole milliseconds left, rounded down (a
    callee is never told it has more time than its caller), never negative."""
    if deadline is None:
        return None
    return max(0, int((deadline - now) * 1000))


def arrival(deadline_ms: int | None, now: float) -> float | None:
    """The caller's deadline on the receiver's clock, for a frame that arrived at `now` (a negative
    value from a peer counts as 0: already due)."""
    return None if deadline_ms is None else now + max(deadline_ms, 0) / 1000
