"""`TimeoutCoordinator` (SPEC §8.6) on virtual time: deadlines travel to callees, groups end as their
policy says, and every cancelled party has stopped (its clean-up ran) when the call returns.

Times asserted are the virtual clock's (exact and deterministic), never the wall clock's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aura_choreo.orchestration.timeouts import (
    BEST_EFFORT,
    FAIL_FAST,
    CoordinatedFailure,
    DeadlineExceeded,
    QuorumNotReached,
    TimeoutCoordinator,
    quorum,
)
from aura_choreo.protocol import choreography
from aura_choreo.runtime.deadlines import DEADLINE
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.node import Node
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.inmemory import InMemoryTransport
from aura_choreo.transports.network import FixedLatency, LinkModel, NetworkModel
from aura_choreo.transports.simulated import SimulatedTransport

CALL = choreography("choreography Call { roles: A, B; A -> B: Req(n: i64); B -> A: Rep(n: i64); }")


def now() -> float:
    return asyncio.get_running_loop().time()


@asynccontextmanager
async def endpoints(protocol: Any, transport: Any, prefix: str = "") -> AsyncIterator[dict[str, Endpoint]]:
    """Every role's endpoint, without the end-of-role check (these roles give up half-way on purpose)."""
    session = protocol.session(devices={role: prefix + role for role in protocol.roles})
    async with AsyncExitStack() as stack:
        eps = {}
        for role in session.local_types:
            node = await stack.enter_async_context(Node(transport, prefix + role, retransmit_after=0.05))
            eps[role] = session.endpoint(role, node)
            eps[role].start()
        try:
            yield eps
        finally:
            for ep in eps.values():
                ep.close(ok=False)


SEEDS = range(12)


def transports() -> list[Callable[[], Any]]:
    lossy = NetworkModel(LinkModel(latency=FixedLatency(3.0), drop=0.2, duplicate=0.1))
    simulated = [lambda seed=seed: SimulatedTransport(lossy, seed=seed) for seed in SEEDS]
    return [InMemoryTransport, *simulated]


@pytest.mark.parametrize(
    "make_transport", transports(), ids=["inmemory", *(f"simulated-seed{s}" for s in SEEDS)]
)
def test_a_callee_with_200_ms_left_gives_up_at_its_callers_deadline(make_transport: Any) -> None:
    async def main() -> dict[str, Any]:
        tc = TimeoutCoordinator(default_timeout=5.0)
        seen: dict[str, Any] = {}
        async with endpoints(CALL, make_transport()) as eps:

            async def caller() -> None:
                await asyncio.sleep(0.8)  # most of the second is gone before the call
                await eps["A"].send("B", eps["A"].message("Req", n=1))
                await eps["A"].recv("B")

            async def callee() -> None:
                ep = eps["B"]
                await ep.recv("A")
                seen["callee_knows"] = ep.last_deadline
                seen["transit"] = now() - 0.8

                async def work() -> None:
                    await asyncio.sleep(60)  # far longer than anyone waits

                try:
                    await tc.with_timeout(None, work, caller=ep, name="B's work")  # own default: 5 s
                except DeadlineExceeded as exc:
                    seen["callee"] = (now(), exc.inherited)

            async def a() -> None:
                try:
                    await tc.with_timeout(1.0, caller, name="A's call")
                except DeadlineExceeded as exc:
                    seen["caller"] = (now(), exc.inherited)

            await asyncio.gather(a(), callee())
        return seen

    seen = run_virtual(main())
    assert seen["caller"] == (1.0, False)
    gave_up, inherited = seen["callee"]
    # At the caller's deadline (not 0.8 + 5 s). The envelope carries the time left when it was sent,
    # so the callee's copy is late by the request's transit time (0 in memory, 3 ms and retransmissions
    # on the lossy network) and early by under 1 ms of rounding down.
    assert inherited and seen["callee_knows"] is not None
    assert 0.999 <= gave_up == seen["callee_knows"] <= 1.0 + seen["transit"] + 1e-9
    assert seen["transit"] < 0.2


def test_a_callee_with_no_caller_deadline_uses_its_own_and_nested_deadlines_take_the_earliest() -> None:
    async def main() -> list[tuple[float, bool]]:
        tc = TimeoutCoordinator(default_timeout=2.0)
        got = []

        async def forever() -> None:
            await asyncio.sleep(100)

        for caller in (None, 7.0, 0.5):
            start = now()
            try:
                await tc.with_timeout(None, forever, caller=caller)
            except DeadlineExceeded as exc:
                got.append((now() - start, exc.inherited))

        async def inner() -> None:
            assert DEADLINE.get() == pytest.approx(now() + 1.0)
            await tc.with_timeout(10.0, forever)

        start = now()
        with pytest.raises(DeadlineExceeded) as nested:
            await tc.with_timeout(1.0, inner)
        assert nested.value.inherited is False  # the outer one fired: the inner one was cut to it
        got.append((now() - start, tc.metrics.cut_by_caller == 2))
        assert DEADLINE.get() is None
        return got

    got = run_virtual(main())
    assert got[0] == (2.0, False)
    assert got[1][1] is False and got[1][0] == pytest.approx(2.0)  # caller's 7.0 is later than 2 s
    assert got[2][1] is True
    assert got[3] == (pytest.approx(1.0), True)


def test_an_operations_own_errors_and_timeout_errors_pass_through() -> None:
    async def main() -> None:
        tc = TimeoutCoordinator()

        async def boom() -> None:
            raise ValueError("mine")

        async def own_timeout() -> None:
            async with asyncio.timeout(0.1):
                await asyncio.sleep(1)

        with pytest.raises(ValueError, match="mine"):
            await tc.with_timeout(1.0, boom)
        with pytest.raises(TimeoutError):
            await tc.with_timeout(5.0, own_timeout)
        assert tc.metrics.timed_out == 0

    run_virtual(main())


class Parties:
    """Operations that record when they start, finish or are cancelled (on the virtual clock)."""

    def __init__(self) -> None:
        self.log: dict[str, tuple[str, float]] = {}

    def op(self, name: str, after: float, fail: bool = False) -> Callable[[], Awaitable[str]]:
        async def run() -> str:
            try:
                await asyncio.sleep(after)
            except asyncio.CancelledError:
                self.log[name] = ("cancelled", now())
                raise
            if fail:
                self.log[name] = ("failed", now())
                raise ConnectionError(f"{name} failed")
            self.log[name] = ("done", now())
            return name

        return run


def test_fail_fast_cancels_every_other_party_at_the_first_failure() -> None:
    async def main() -> tuple[Parties, CoordinatedFailure, float]:
        p, tc = Parties(), TimeoutCoordinator()
        ops = {"a": p.op("a", 3), "b": p.op("b", 1, fail=True), "c": p.op("c", 10), "d": p.op("d", 0.5)}
        with pytest.raises(CoordinatedFailure) as failed:
            await tc.with_coordinated_timeouts(ops, FAIL_FAST, timeout=20)
        return p, failed.value, now()

    p, failure, returned = run_virtual(main())
    assert returned == 1.0 and failure.first == "b" and isinstance(failure.error, ConnectionError)
    assert p.log == {
        "d": ("done", 0.5),
        "b": ("failed", 1.0),
        "a": ("cancelled", 1.0),
        "c": ("cancelled", 1.0),
    }
    assert failure.result.cancelled == ("a", "c") and failure.result.values == {"d": "d"}


def test_fail_fast_with_no_failure_returns_everything_and_times_out_as_a_deadline() -> None:
    async def main() -> None:
        p, tc = Parties(), TimeoutCoordinator()
        result = await tc.with_coordinated_timeouts({"a": p.op("a", 1), "b": p.op("b", 2)}, FAIL_FAST)
        assert result.values == {"a": "a", "b": "b"} and now() == 2
        with pytest.raises(DeadlineExceeded, match="late"):
            await tc.with_coordinated_timeouts({"ok": p.op("ok", 1), "late": p.op("late", 9)}, timeout=3)
        assert now() == 5 and p.log["late"] == ("cancelled", 5)

    run_virtual(main())


@pytest.mark.parametrize("k", [1, 2, 3])
def test_quorum_returns_after_k_successes_and_cancels_the_rest(k: int) -> None:
    async def main() -> tuple[Parties, Any, float]:
        p, tc = Parties(), TimeoutCoordinator()
        ops = {
            "slow": p.op("slow", 4), "x": p.op("x", 1), "bad": p.op("bad", 1.5, fail=True),
            "y": p.op("y", 2), "z": p.op("z", 3),
        }  # fmt: skip
        result = await tc.with_coordinated_timeouts(ops, quorum(k), timeout=10)
        return p, result, now()

    p, result, returned = run_virtual(main())
    assert returned == {1: 1.0, 2: 2.0, 3: 3.0}[k]
    assert list(result.values) == ["x", "y", "z"][:k]
    assert p.log["slow"] == ("cancelled", returned)
    assert ("bad" in result.errors) == (k > 1)


def test_quorum_fails_as_soon_as_it_cannot_be_reached_or_at_the_deadline() -> None:
    async def main() -> None:
        p, tc = Parties(), TimeoutCoordinator()
        ops = {"a": p.op("a", 1, fail=True), "b": p.op("b", 2, fail=True), "c": p.op("c", 9)}
        with pytest.raises(QuorumNotReached, match="2 failed"):
            await tc.with_coordinated_timeouts(ops, quorum(2), timeout=20)
        assert now() == 2 and p.log["c"] == ("cancelled", 2)
        start = now()
        with pytest.raises(QuorumNotReached, match="deadline"):
            await tc.with_coordinated_timeouts({"a": p.op("a", 1), "b": p.op("b", 50)}, quorum(2), timeout=5)
        assert now() - start == 5
        with pytest.raises(ValueError):
            await tc.with_coordinated_timeouts({"a": p.op("a", 1)}, quorum(2))
        with pytest.raises(ValueError):
            quorum(0)

    run_virtual(main())


def test_best_effort_reports_every_outcome_at_the_deadline() -> None:
    async def main() -> tuple[Any, float]:
        p, tc = Parties(), TimeoutCoordinator()
        ops = {"ok": p.op("ok", 1), "bad": p.op("bad", 2, fail=True), "late": p.op("late", 30)}
        return await tc.with_coordinated_timeouts(ops, BEST_EFFORT, timeout=5), now()

    result, returned = run_virtual(main())
    assert returned == 5
    ok, bad, late = result.outcomes
    assert ok.ok and ok.value == "ok" and ok.finished_at == 1
    assert isinstance(bad.error, ConnectionError) and not bad.ok
    assert late.cancelled and late.timed_out and late.finished_at == 5


def test_cancelling_the_coordinator_reaches_every_party() -> None:
    async def main() -> Parties:
        p, tc = Parties(), TimeoutCoordinator()
        group = asyncio.ensure_future(
            tc.with_coordinated_timeouts({"a": p.op("a", 5), "b": p.op("b", 6)}, BEST_EFFORT)
        )
        await asyncio.sleep(1)
        group.cancel()
        with pytest.raises(asyncio.CancelledError):
            await group
        return p

    assert run_virtual(main()).log == {"a": ("cancelled", 1), "b": ("cancelled", 1)}


def test_a_coordinated_deadline_reaches_remote_callees_which_stop_with_it() -> None:
    """A calls B and C (one session each) under one 1 s deadline with quorum(1): C answers at 0.2 s,
    so A's call to B is cancelled then; B, on its own node with a 30 s default of its own, stops at
    A's deadline (the deadline rode on A's request) instead of working on for 30 s."""

    async def main() -> dict[str, Any]:
        tc, seen = TimeoutCoordinator(default_timeout=30.0), {}
        transport = SimulatedTransport(NetworkModel(LinkModel(drop=0.1)), seed=1)
        async with endpoints(CALL, transport, "ab-") as left, endpoints(CALL, transport, "ac-") as right:

            async def ask(ep: Endpoint) -> int:
                await ep.send("B", ep.message("Req", n=1))
                return int((await ep.recv("B")).n)

            async def serve(name: str, ep: Endpoint, work: float) -> None:
                await ep.recv("A")
                seen[name + " asked"] = now()

                async def answer() -> None:
                    await asyncio.sleep(work)
                    await ep.send("A", ep.message("Rep", n=2))

                try:
                    await tc.with_timeout(None, answer, caller=ep)
                    seen[name] = ("answered", round(now(), 3))
                except DeadlineExceeded as exc:
                    seen[name] = ("gave up", round(now(), 3), exc.inherited)

            async def coordinator() -> None:
                ops = {"B": lambda: ask(left["A"]), "C": lambda: ask(right["A"])}
                result = await tc.with_coordinated_timeouts(ops, quorum(1), timeout=1.0)
                seen["A"] = (result.values, result.cancelled)

            await asyncio.gather(coordinator(), serve("B", left["B"], 10.0), serve("C", right["B"], 0.2))
        return seen

    seen = run_virtual(main())
    assert seen["A"] == ({"C": 2}, ("B",))
    assert seen["C"][0] == "answered"
    # The deadline rode on A's request: B's copy is late by that request's transit time only.
    transit = seen["B asked"]
    assert seen["B"][0::2] == ("gave up", True) and 1.0 <= seen["B"][1] <= 1.0 + transit + 1e-9 < 1.1


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 20), st.booleans()), min_size=1, max_size=6),
    st.integers(1, 6),
    st.integers(1, 25),
)
def test_quorum_property_returns_at_the_kth_success_or_raises_when_impossible(
    plan: list[tuple[int, bool]], k: int, timeout: int
) -> None:
    k = min(k, len(plan))

    async def main() -> tuple[Any, float]:
        p, tc = Parties(), TimeoutCoordinator()
        ops = {f"o{i}": p.op(f"o{i}", t, fail=bad) for i, (t, bad) in enumerate(plan)}
        try:
            return await tc.with_coordinated_timeouts(ops, quorum(k), timeout=timeout), now()
        except QuorumNotReached as exc:
            return exc, now()

    result, returned = run_virtual(main())
    successes = sorted(t for t, bad in plan if not bad and t <= timeout)
    if len(successes) >= k and successes[k - 1] == timeout:
        return  # the k-th success lands exactly at the deadline: either ending is right
    if len(successes) >= k:
        assert not isinstance(result, Exception) and returned == successes[k - 1]
        assert len(result.values) >= k
    else:
        assert isinstance(result, QuorumNotReached)
        failures = sorted(t for t, bad in plan if bad)
        impossible_at = failures[len(plan) - k] if len(failures) > len(plan) - k else None
        expected = min(timeout, impossible_at) if impossible_at is not None else timeout
        # Finishing at exactly the deadline races the deadline: either moment is right.
        assert returned <= expected


def test_a_nan_timeout_is_refused() -> None:
    async def main() -> None:
        async def op() -> None:
            return None

        with pytest.raises(ValueError, match="NaN"):
            await TimeoutCoordinator().with_timeout(float("nan"), op)

    run_virtual(main())


def test_simultaneous_failures_report_the_first_given() -> None:
    async def main() -> None:
        p, tc = Parties(), TimeoutCoordinator()
        for names in (["x", "y", "z"], ["z", "y", "x"]):
            ops = {n: p.op(n, 1, fail=True) for n in names}
            with pytest.raises(CoordinatedFailure) as failed:
                await tc.with_coordinated_timeouts(ops, FAIL_FAST)
            assert failed.value.first == names[0]

    run_virtual(main())
