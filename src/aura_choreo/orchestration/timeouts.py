"""`TimeoutCoordinator` (SPEC §8.6): deadlines that travel with the messages, and groups of operations
under one deadline.

- `with_timeout(d, op)` runs `op` until `d` seconds pass or the deadline it runs under passes, whichever
  is first. Inside, the deadline is the task's `runtime.deadlines.DEADLINE`, so every envelope `op`
  sends carries the time left (wire version 2) and every task it starts inherits it.
- A callee passes `caller=ep` (the endpoint that received the request): its own timeout is cut to the
  deadline the request arrived with (`ep.last_deadline`), so it gives up when its caller does, not
  after its own default. That is how cancellation reaches a party in another process: it stops at the
  same deadline without another message.
- `with_coordinated_timeouts(ops, policy)` runs named operations concurrently under one deadline:
  `FAIL_FAST` (the first failure cancels the others and is raised), `BEST_EFFORT` (everything runs to
  its end or the deadline; each outcome is reported) or `quorum(k)` (returns once `k` succeeded and
  cancels the rest; raises as soon as `k` can no longer be reached). Every operation that is cancelled
  is awaited before the call returns, so its clean-up (closing its endpoint, its own `finally`) has run.

Time is the event loop's clock, so all of this runs on virtual time in the simulator and in tests.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from aura_choreo.errors import AuraChoreoError
from aura_choreo.runtime.deadlines import DEADLINE

__all__ = [
    "BEST_EFFORT",
    "FAIL_FAST",
    "CoordinatedFailure",
    "CoordinatedResult",
    "CoordinationPolicy",
    "DeadlineExceeded",
    "Outcome",
    "QuorumNotReached",
    "TimeoutCoordinator",
    "TimeoutMetrics",
    "quorum",
]

T = TypeVar("T")
Operation = Callable[[], Awaitable[T]]


class HasDeadline(Protocol):
    """What carries a caller's deadline: an endpoint (`last_deadline` of the last message received)."""

    @property
    def last_deadline(self) -> float | None: ...


class DeadlineExceeded(AuraChoreoError):
    """`what` did not finish by its deadline; `inherited` says whether that was its caller's."""

    def __init__(self, what: str, deadline: float, *, inherited: bool, timeout: float | None) -> None:
        self.what = what
        self.deadline = deadline
        self.inherited = inherited
        whose = "its caller's deadline" if inherited or timeout is None else f"its {timeout:g} s timeout"
        super().__init__(f"{what} did not finish within {whose} (deadline at loop time {deadline:.3f})")


class CoordinatedFailure(AuraChoreoError):
    """A `fail_fast` group failed: `first` is the operation that failed first, `error` its error."""

    def __init__(self, first: str, error: BaseException, result: CoordinatedResult) -> None:
        self.first = first
        self.error = error
        self.result = result
        cancelled = ", ".join(result.cancelled) or "none"
        super().__init__(f"{first} failed ({type(error).__name__}: {error}); cancelled: {cancelled}")


class QuorumNotReached(AuraChoreoError):
    """Fewer than `k` operations succeeded (too many failed, or the deadline passed)."""

    def __init__(self, k: int, result: CoordinatedResult, why: str) -> None:
        self.k = k
        self.result = result
        super().__init__(f"quorum of {k} not reached: {len(result.values)} succeeded, {why}")


@dataclass(frozen=True)
class CoordinationPolicy:
    """How a group of operations ends; build with `FAIL_FAST`, `BEST_EFFORT` or `quorum(k)`."""

    kind: Literal["fail_fast", "best_effort", "quorum"]
    k: int = 0


FAIL_FAST = CoordinationPolicy("fail_fast")
BEST_EFFORT = CoordinationPolicy("best_effort")


def quorum(k: int) -> CoordinationPolicy:
    """Succeed once `k` operations have succeeded."""
    if k < 1:
        raise ValueError(f"a quorum needs k >= 1, got {k}")
    return CoordinationPolicy("quorum", k)


@dataclass(frozen=True)
class Outcome:
    """How one operation of a group ended: `ok` with `value`, failed with `error`, or `cancelled`
    (by the policy, or timed out at the group's deadline: `timed_out`)."""

    name: str
    ok: bool
    value: Any = None
    error: BaseException | None = None
    cancelled: bool = False
    timed_out: bool = False
    finished_at: float = 0.0


@dataclass(frozen=True)
class CoordinatedResult:
    """Every operation's outcome, in the order the operations were given."""

    outcomes: tuple[Outcome, ...]

    @property
    def values(self) -> dict[str, Any]:
        return {o.name: o.value for o in self.outcomes if o.ok}

    @property
    def errors(self) -> dict[str, BaseException]:
        return {o.name: o.error for o in self.outcomes if o.error is not None}

    @property
    def cancelled(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.outcomes if o.cancelled)


@dataclass
class TimeoutMetrics:
    started: int = 0
    succeeded: int = 0
    timed_out: int = 0
    cut_by_caller: int = 0
    """Operations whose deadline was the caller's, shorter than their own timeout."""
    cancelled: int = 0
    groups: dict[str, int] = field(default_factory=dict)


class TimeoutCoordinator:
    """Runs operations under deadlines on the event loop's clock; see the module docstring."""

    def __init__(self, default_timeout: float | None = 30.0) -> None:
        self.default_timeout = default_timeout
        self.metrics = TimeoutMetrics()

    def deadline(
        self, timeout: float | None, caller: HasDeadline | float | None = None
    ) -> tuple[float, bool]:
        """(deadline on the loop's clock, whether it is inherited) for an operation starting now:
        the earliest of now + `timeout` (default: `default_timeout`), the caller's deadline (an
        endpoint's `last_deadline`, or a loop time) and the deadline this task already runs under."""
        loop = asyncio.get_running_loop()
        timeout = self.default_timeout if timeout is None else timeout
        if timeout is not None and math.isnan(timeout):
            raise ValueError("a timeout must be a number of seconds (or None), not NaN")
        own = float("inf") if timeout is None else loop.time() + max(timeout, 0.0)
        inherited = [d for d in (_deadline_of(caller), DEADLINE.get()) if d is not None]
        earliest = min(inherited, default=float("inf"))
        return (earliest, True) if earliest < own else (own, False)

    async def with_timeout(
        self,
        timeout: float | None,
        op: Operation[T],
        *,
        caller: HasDeadline | float | None = None,
        name: str = "operation",
    ) -> T:
        """`await op()` under the deadline `deadline(timeout, caller)`; `DeadlineExceeded` when it
        passes (the operation is cancelled first). Errors of `op` itself propagate unchanged."""
        timeout = self.default_timeout if timeout is None else timeout
        deadline, inherited = self.deadline(timeout, caller)
        self.metrics.started += 1
        if inherited:
            self.metrics.cut_by_caller += 1
        token = DEADLINE.set(None if deadline == float("inf") else deadline)
        try:
            async with asyncio.timeout_at(None if deadline == float("inf") else deadline) as scope:
                value = await op()
        except TimeoutError:
            if not scope.expired():
                raise  # the operation's own TimeoutError, not ours
            self.metrics.timed_out += 1
            raise DeadlineExceeded(name, deadline, inherited=inherited, timeout=timeout) from None
        finally:
            DEADLINE.reset(token)
        self.metrics.succeeded += 1
        return value

    async def with_coordinated_timeouts(
        self,
        ops: Mapping[str, Operation[Any]],
        policy: CoordinationPolicy = FAIL_FAST,
        *,
        timeout: float | None = None,
        caller: HasDeadline | float | None = None,
    ) -> CoordinatedResult:
        """Run `ops` concurrently under one deadline, ending as `policy` says (module docstring)."""
        if not ops:
            raise ValueError("with_coordinated_timeouts needs at least one operation")
        if policy.kind == "quorum" and policy.k > len(ops):
            raise ValueError(f"a quorum of {policy.k} cannot be reached by {len(ops)} operations")
        groups = self.metrics.groups
        groups[policy.kind] = groups.get(policy.kind, 0) + 1
        loop = asyncio.get_running_loop()
        deadline, inherited = self.deadline(timeout, caller)
        token = DEADLINE.set(None if deadline == float("inf") else deadline)
        try:  # the tasks copy the context now, so each one's sends carry the group's deadline
            tasks = {
                loop.create_task(_call(op), name=f"coordinated {name}"): name for name, op in ops.items()
            }
        finally:
            DEADLINE.reset(token)
        self.metrics.started += len(tasks)
        outcomes: dict[str, Outcome] = {}
        pending = set(tasks)
        failure: tuple[str, BaseException] | None = None
        try:
            while pending:
                remaining = None if deadline == float("inf") else max(0.0, deadline - loop.time())
                done, pending = await asyncio.wait(
                    pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:
                    break  # the deadline passed
                order = list(tasks)  # ties (same loop step) go in the order the operations were given
                for task in sorted(done, key=order.index):
                    outcome = self._outcome(tasks[task], task, loop.time())
                    outcomes[outcome.name] = outcome
                    if outcome.error is not None and failure is None:
                        failure = (outcome.name, outcome.error)
                if _settled(policy, outcomes, len(tasks)):
                    break
        finally:
            expired = bool(pending) and loop.time() >= deadline
            await self._cancel(pending, tasks, outcomes, timed_out=expired, at=loop.time)
        result = CoordinatedResult(tuple(outcomes[name] for name in ops))
        if policy.kind == "fail_fast" and failure is not None:
            raise CoordinatedFailure(failure[0], failure[1], result)
        if policy.kind == "fail_fast" and any(o.timed_out for o in result.outcomes):
            late = ", ".join(o.name for o in result.outcomes if o.timed_out)
            raise DeadlineExceeded(late, deadline, inherited=inherited, timeout=timeout)
        if policy.kind == "quorum" and len(result.values) < policy.k:
            failed = len(result.errors)
            why = f"{failed} failed" + (
                ", the deadline passed" if any(o.timed_out for o in result.outcomes) else ""
            )
            raise QuorumNotReached(policy.k, result, why)
        return result

    def _outcome(self, name: str, task: asyncio.Task[Any], now: float) -> Outcome:
        if task.cancelled():
            self.metrics.cancelled += 1
            return Outcome(name, False, cancelled=True, finished_at=now)
        error = task.exception()
        if error is not None:
            return Outcome(name, False, error=error, finished_at=now)
        self.metrics.succeeded += 1
        return Outcome(name, True, value=task.result(), finished_at=now)

    async def _cancel(
        self,
        pending: set[asyncio.Task[Any]],
        tasks: Mapping[asyncio.Task[Any], str],
        outcomes: dict[str, Outcome],
        *,
        timed_out: bool,
        at: Callable[[], float],
    ) -> None:
        """Cancel what still runs and wait until it has stopped (its clean-up ran)."""
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        for task in pending:
            name = tasks[task]
            if task.cancelled():
                self.metrics.cancelled += 1
                if timed_out:
                    self.metrics.timed_out += 1
                outcomes[name] = Outcome(name, False, cancelled=True, timed_out=timed_out, finished_at=at())
            else:  # it finished (or failed) while being cancelled: keep what it did
                outcomes[name] = self._outcome(name, task, at())


async def _call(op: Operation[T]) -> T:
    return await op()


def _settled(policy: CoordinationPolicy, outcomes: Mapping[str, Outcome], total: int) -> bool:
    """Whether the group can stop now (the rest is cancelled)."""
    if policy.kind == "fail_fast":
        return any(o.error is not None for o in outcomes.values())
    if policy.kind == "quorum":
        succeeded = sum(o.ok for o in outcomes.values())
        failed = len(outcomes) - succeeded
        return succeeded >= policy.k or total - failed < policy.k
    return False


def _deadline_of(caller: HasDeadline | float | None) -> float | None:
    if caller is None or isinstance(caller, int | float):
        return caller
    return caller.last_deadline
