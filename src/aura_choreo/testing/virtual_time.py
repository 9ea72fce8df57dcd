"""An asyncio event loop on virtual time.

`loop.time()` is a virtual clock. When no callback is ready and no I/O is pending, the loop jumps the
clock straight to the next scheduled timer instead of sleeping, so unmodified code that uses
`asyncio.sleep`, `asyncio.timeout` or `loop.call_later` runs at full speed and deterministically.
A loop with no timer and nothing ready blocks on its selector as a normal loop does (threads may still
wake it with `call_soon_threadsafe`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import selectors
from collections.abc import Callable, Coroutine, Mapping
from contextvars import Context
from typing import Any, TypeVar

T = TypeVar("T")


class VirtualClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        """The current virtual time in seconds."""
        return self._now

    def reset(self, start: float) -> None:
        """Set the time (only for an idle loop: see `VirtualTimeEventLoop.reset_clock`)."""
        self._now = start

    def advance_to(self, when: float) -> None:
        """Move the clock forward to `when` (never backwards)."""
        if when > self._now:
            self._now = when


class VirtualTimeSelector(selectors.BaseSelector):
    """A selector that polls real I/O without waiting and turns every wait into a clock jump."""

    def __init__(self, jump: Callable[[float], None]) -> None:
        self._inner = selectors.DefaultSelector()
        self._jump = jump

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._inner.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            # Nothing scheduled at all: only another thread can wake us, exactly as in a real loop.
            return self._inner.select(None)
        self._jump(timeout)
        return []


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose `time()` is virtual and which never sleeps on a timer.

    Timers are tracked through the public `call_at` (which `call_later`, `asyncio.sleep` and
    `asyncio.timeout` all go through), so the clock jumps to exact deadlines without reading the base
    loop's timer heap.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.clock = VirtualClock(start)
        self._timers: list[tuple[float, int, asyncio.TimerHandle]] = []
        """Every timer scheduled and not yet known to be over: (deadline, order, handle), a heap."""
        self._timer_order = itertools.count()
        super().__init__(VirtualTimeSelector(self._jump))
        self._base_resolution: float = getattr(self, "_clock_resolution", 1e-9)
        self._fit_resolution()

    def time(self) -> float:
        return self.clock.now()

    def call_at(  # type: ignore[override]  # typeshed spells the arguments with a TypeVarTuple
        self, when: float, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> asyncio.TimerHandle:
        handle = super().call_at(when, callback, *args, context=context)
        heapq.heappush(self._timers, (handle.when(), next(self._timer_order), handle))
        return handle

    def reset_clock(self, start: float = 0.0) -> bool:
        """Set the clock back to `start` between runs; False (nothing changed) unless the loop is idle.

        Idle means not running, no callback ready and no live timer: then nothing can observe the jump,
        and a run started now behaves exactly as on a fresh loop.
        """
        if self.is_running() or self.is_closed():
            return False
        # No public API tells whether callbacks are queued (e.g. done-callbacks of the last run's
        # tasks); a queued one would run after the jump and could observe it, so it is read here.
        ready: Any = getattr(self, "_ready", None)
        self._prune_timers()
        if ready or any(not handle.cancelled() for _, _, handle in self._timers):
            return False
        self._timers.clear()  # all cancelled or over; the base loop drops its cancelled ones lazily
        self.clock.reset(start)
        self._fit_resolution()
        return True

    def _prune_timers(self) -> None:
        """Pop the timers at the head of the heap that were cancelled or are over."""
        timers = self._timers
        # Only a deadline at or before now is surely over: the base loop runs a timer once
        # `when < time() + clock_resolution`, but a timer scheduled by a callback *after* that check,
        # due less than the resolution ahead, is still waiting. Taking it as run made the clock leap
        # to the next deadline first (issue 11 item 1: a retransmission one ulp ahead was skipped and a
        # 30 s peer deadline fired). A timer that did run just ahead of now costs at most one jump
        # shorter than the resolution.
        now = self.clock.now()
        while timers and (timers[0][2].cancelled() or timers[0][0] <= now):
            heapq.heappop(timers)

    def _jump(self, timeout: float) -> None:
        """Nothing is ready: move the clock to the earliest live timer."""
        # Jumping to the timer's exact deadline (rather than now + timeout) keeps float rounding from
        # leaving the clock just short of it.
        self._prune_timers()
        timers = self._timers
        self.clock.advance_to(timers[0][0] if timers else self.clock.now() + timeout)
        self._fit_resolution()

    def _fit_resolution(self) -> None:
        # The base loop runs a timer when `when < time() + clock_resolution`; far from zero a timer
        # due exactly now would never run unless the resolution is at least one float step of the clock.
        # The resolution is the base loop's attribute: there is no public way to set it.
        self._clock_resolution = max(self._base_resolution, math.ulp(self.clock.now()))


def run_virtual(main: Coroutine[Any, Any, T], *, start: float = 0.0) -> T:
    """Run a coroutine to completion on a fresh virtual-time loop (like `asyncio.run`)."""
    with asyncio.Runner(loop_factory=lambda: VirtualTimeEventLoop(start)) as runner:
        return runner.run(main)
