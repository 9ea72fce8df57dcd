"""The virtual-time event loop: timers fire in order, instantly, with exact virtual timestamps."""

from __future__ import annotations

import asyncio
import math
import threading
import time

import pytest

from aura_choreo.testing.virtual_time import VirtualTimeEventLoop, run_virtual


def test_sleep_advances_virtual_time_exactly() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.sleep(2.5)
        return loop.time() - start

    assert run_virtual(main()) == 2.5


def test_a_very_long_sleep_takes_no_wall_time() -> None:
    async def main() -> float:
        await asyncio.sleep(10**6)
        return asyncio.get_running_loop().time()

    wall = time.monotonic()
    assert run_virtual(main()) == pytest.approx(10**6)
    # a real loop would sleep 11 days; the bound is only there to catch a real sleep
    assert time.monotonic() - wall < 30


def test_concurrent_sleepers_wake_in_deadline_order_at_their_deadlines() -> None:
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        woke.append((name, asyncio.get_running_loop().time()))

    async def main() -> None:
        await asyncio.gather(sleeper("c", 3.0), sleeper("a", 1.0), sleeper("b", 2.0), sleeper("a2", 1.0))

    run_virtual(main())
    assert woke == [("a", 1.0), ("a2", 1.0), ("b", 2.0), ("c", 3.0)]


def test_asyncio_timeout_fires_on_virtual_time() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        never: asyncio.Future[None] = loop.create_future()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(5):
                await never
        return loop.time()

    assert run_virtual(main()) == 5.0


def test_wait_for_returns_before_its_timeout_when_the_work_is_shorter() -> None:
    async def work() -> str:
        await asyncio.sleep(1)
        return "done"

    async def main() -> tuple[str, float]:
        result = await asyncio.wait_for(work(), timeout=100)
        return result, asyncio.get_running_loop().time()

    assert run_virtual(main()) == ("done", 1.0)


def test_call_later_and_call_at_run_at_their_virtual_times() -> None:
    seen: list[tuple[str, float]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.call_later(4, lambda: seen.append(("later", loop.time())))
        loop.call_at(2, lambda: seen.append(("at", loop.time())))
        loop.call_later(5, done.set_result, None)
        await done

    run_virtual(main())
    assert seen == [("at", 2.0), ("later", 4.0)]


def test_cancelled_timer_does_not_hold_the_clock_back_or_forward() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        handle = loop.call_later(100, lambda: None)
        handle.cancel()
        await asyncio.sleep(1)
        return loop.time()

    assert run_virtual(main()) == 1.0


def test_ready_callbacks_run_before_time_moves() -> None:
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        times = []
        for _ in range(100):
            await asyncio.sleep(0)
            times.append(loop.time())
        return times

    assert set(run_virtual(main())) == {0.0}


def test_many_tiny_timers_accumulate_without_drift() -> None:
    async def main() -> float:
        for _ in range(10_000):
            await asyncio.sleep(0.001)
        return asyncio.get_running_loop().time()

    assert run_virtual(main()) == pytest.approx(10.0, abs=1e-6)


def test_runs_are_deterministic() -> None:
    async def main() -> list[str]:
        order: list[str] = []

        async def worker(name: str, delays: list[float]) -> None:
            for d in delays:
                await asyncio.sleep(d)
                order.append(f"{name}@{asyncio.get_running_loop().time():.3f}")

        await asyncio.gather(worker("x", [0.3, 0.1, 0.7]), worker("y", [0.2, 0.2, 0.2]), worker("z", [1.0]))
        return order

    assert run_virtual(main()) == run_virtual(main())


def test_start_time_is_configurable() -> None:
    async def main() -> float:
        await asyncio.sleep(1)
        return asyncio.get_running_loop().time()

    assert run_virtual(main(), start=1000.0) == 1001.0


def test_thread_wakeup_still_works_with_no_timers() -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[str] = loop.create_future()
        threading.Timer(0.05, lambda: loop.call_soon_threadsafe(fut.set_result, "woken")).start()
        return await fut

    assert run_virtual(main()) == "woken"


def test_to_thread_completes_on_a_virtual_loop() -> None:
    async def main() -> int:
        return await asyncio.to_thread(sum, [1, 2, 3])

    assert run_virtual(main()) == 6


def test_queue_get_with_timeout_on_virtual_time() -> None:
    async def main() -> tuple[str, float]:
        q: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        loop.call_later(7, q.put_nowait, "late")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(q.get(), timeout=3)
        item = await asyncio.wait_for(q.get(), timeout=10)
        return item, loop.time()

    assert run_virtual(main()) == ("late", 7.0)


def test_loop_can_be_used_directly() -> None:
    loop = VirtualTimeEventLoop()
    try:
        assert loop.run_until_complete(asyncio.sleep(42, result="ok")) == "ok"
        assert loop.time() == 42.0
    finally:
        loop.close()


def test_reset_clock_on_an_idle_loop_starts_time_again() -> None:
    loop = VirtualTimeEventLoop()
    try:
        loop.run_until_complete(asyncio.sleep(50))
        assert loop.reset_clock()
        assert loop.time() == 0.0
        assert loop.run_until_complete(_now_after(2.0)) == 2.0
    finally:
        loop.close()


def test_reset_clock_refuses_while_a_timer_is_pending() -> None:
    loop = VirtualTimeEventLoop()
    try:
        loop.run_until_complete(asyncio.sleep(1))
        handle = loop.call_later(10, lambda: None)
        assert not loop.reset_clock()
        assert loop.time() == 1.0
        handle.cancel()
        assert loop.reset_clock()
    finally:
        loop.close()
    assert not loop.reset_clock()  # closed


async def _now_after(delay: float) -> float:
    await asyncio.sleep(delay)
    return asyncio.get_running_loop().time()


@pytest.mark.parametrize("start", [1e6, 1e9, 1e12])
def test_tiny_sleeps_far_from_zero_still_progress(start: float) -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        begin = loop.time()
        for _ in range(1000):
            await asyncio.sleep(0.001)
        await asyncio.sleep(1e-12)  # below one float step of the clock: due at once
        return loop.time() - begin

    # each sleep lands on the nearest float step of the clock, so the total can be off by 1000 steps
    assert run_virtual(main(), start=start) == pytest.approx(1.0, abs=1e-3 + 1000 * math.ulp(start))


@pytest.mark.parametrize("start", [0.0, 1.0, 25.123456789])
def test_a_timer_due_within_the_clock_resolution_runs_before_a_later_one(start: float) -> None:
    # Issue 11 item 1: a timer scheduled less than the clock resolution (1 ns) ahead was taken as
    # already run by the jump to the next timer, so the clock leapt to a far deadline first.
    seen: list[tuple[str, float]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        now = loop.time()
        loop.call_at(now + 30, lambda: seen.append(("deadline", loop.time())))
        loop.call_at(math.nextafter(now, math.inf), lambda: seen.append(("ulp", loop.time())))
        loop.call_at(now + 1e-10, lambda: seen.append(("sub-ns", loop.time())))
        loop.call_at(now + 31, done.set_result, None)
        await done

    run_virtual(main(), start=start)
    assert [name for name, _ in seen] == ["ulp", "sub-ns", "deadline"]
    assert all(at < start + 1 for name, at in seen if name != "deadline")
