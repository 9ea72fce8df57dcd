"""An asyncio event loop on virtual time.

`loop.time()` is a virtual clock. When no callback is ready and no I/O is pending, the loop jumps the
clock straight to the next scheduled timer instead of sleeping, so unmodified code that uses
`asyncio.sleep`, `asyncio.timeout` or `loop.call_later` runs at full speed and deterministically.
A loop with no timer and nothing ready blocks on its selector as a normal loop does (threads may still
wake it with `call_soon_threadsafe`).
"""

from __future__ import annotations

import asyncio
import math
import selectors
from collections.abc import Callable, Coroutine, Mapping
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
    """A selector event loop whose `time()` is virtual and which never sleeps on a timer."""

    def __init__(self, start: float = 0.0) -> None:
        self.clock = VirtualClock(start)
        super().__init__(VirtualTimeSelector(self._jump))
        self._base_resolution: float = getattr(self, "_clock_resolution", 1e-9)
        self._fit_resolution()

    def time(self) -> float:
        return self.clock.now()

    def reset_clock(self, start: float = 0.0) -> bool:
        """Set the clock back to `start` between runs; False (nothing changed) unless the loop is idle.

        Idle means not running, no callback ready and no live timer: then nothing can observe the jump,
        and a run started now behaves exactly as on a fresh loop.
        """
        if self.is_running() or self.is_closed():
            return False
        ready: Any = getattr(self, "_ready", None)
        scheduled: list[asyncio.TimerHandle] = getattr(self, "_scheduled", [])
        if ready or any(not handle.cancelled() for handle in scheduled):
            return False
        scheduled.clear()
        if hasattr(self, "_timer_cancelled_count"):
            self._timer_cancelled_count = 0  # the base loop's count of cancelled handles in the heap
        self.clock.reset(start)
        self._fit_resolution()
        return True

    def _jump(self, timeout: float) -> None:
        """Nothing is ready: move the clock to the earliest timer (the base loop's heap head)."""
        # `_scheduled` is the base loop's timer heap; its head is the earliest live timer whenever the
        # base loop calls select (cancelled heads are popped first). Jumping to its exact deadline
        # (rather than now + timeout) keeps float rounding from leaving the clock just short of it.
        scheduled: list[asyncio.TimerHandle] = getattr(self, "_scheduled", [])
        self.clock.advance_to(scheduled[0].when() if scheduled else self.clock.now() + timeout)
        self._fit_resolution()

    def _fit_resolution(self) -> None:
        # The base loop runs a timer when `when < time() + clock_resolution`; far from zero a timer
        # due exactly now would never run unless the resolution is at least one float step of the clock.
        self._clock_resolution = max(self._base_resolution, math.ulp(self.clock.now()))


def run_virtual(main: Coroutine[Any, Any, T], *, start: float = 0.0) -> T:
    """Run a coroutine to completion on a fresh virtual-time loop (like `asyncio.run`)."""
    with asyncio.Runner(loop_factory=lambda: VirtualTimeEventLoop(start)) as runner:
        return runner.run(main)
