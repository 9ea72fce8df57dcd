"""The behaviour-driven runner: the monitor says what may happen next, the behaviour picks.

The monitor is the one interpreter of local types (SPEC §3.6 silent steps, loops, `rec`, `par`,
timeout and try blocks). This runner never walks a local type itself: for each running thread of the
monitor it asks for the next step, turns it into a leaf effect for the handler stack (where the
behaviour supplies payloads, decisions and values), and reacts to the block structure the monitor
reports: a `par` runs one task per branch; a timeout block's deadline bounds the steps of its
thread (SPEC §4.5); a failing step inside a try block settles the saga as failed (SPEC §4.6).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

from aura_choreo.errors import ProtocolViolation
from aura_choreo.projection.local_types import Choose, Local, LocalStep, Offer, Quorum, Recv, Send
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.interpreter import EndpointHandler, Handler, first_error
from aura_choreo.runtime.monitor import Thread, TimeoutToken, TryToken
from aura_choreo.runtime.program import (
    ChooseEffect,
    Effect,
    LocalEffect,
    OfferEffect,
    RecvAnyEffect,
    RecvEffect,
    SendEffect,
)
from aura_choreo.runtime.saga import TryAborted

Scope = TimeoutToken | TryToken


class Driver:
    """Runs one endpoint's local type to its end, through `handler` (see the module docstring)."""

    def __init__(self, endpoint: Endpoint, handler: Handler) -> None:
        self.endpoint = endpoint
        self.monitor = endpoint.monitor
        self.handle = handler.handle
        # With no middleware, the straight-line sends and receives skip the handler's dispatch.
        self._performer = (
            handler.step_performer if type(handler) is EndpointHandler else self._via_handle
        )
        self._effects: dict[int, Effect] = {}
        self._plans: dict[int, _Plan] = {}

    def run(self) -> Coroutine[Any, Any, None]:
        """Run the role from its current state to its end: the coroutine to await (the root
        thread's own, so a role's task resumes one frame fewer at every message it waits for)."""
        self.monitor.observe_locals = True  # local actions and `let`s ask the behaviour
        return self._run_thread(self.monitor.root)

    async def _run_thread(self, thread: Thread) -> None:
        monitor = self.monitor
        arm = self.endpoint.arm_timeouts
        plain_head = monitor.plain_head
        last = _Plan(_START, _nothing)  # the plan of the step this thread performed last (none yet)
        settled = -1
        scopes: list[Scope] = []
        while True:
            if not scopes:
                # Straight-line code since the last full look (the monitor settled nothing, so no
                # block was entered and no timeout armed): perform the next send or receive at once.
                while monitor.settles == settled:
                    plain = plain_head(thread)
                    plan = last.next
                    if plan.step is not plain:  # not the step that followed it last time
                        if plain is None:
                            break  # (a plan's step is never None: tested only on a miss)
                        plan = last.next = self._plan(plain)
                    last = plan
                    perform = plan.perform  # an attribute load: `plan.perform()` is a slower method call
                    await perform()
            head = monitor.head_of(thread)
            arm()
            scopes = monitor.scopes(thread)
            settled = monitor.settles
            if head is None:
                branches = monitor.branches_of(thread)
                if not branches:
                    return  # the thread has ended
                await self._scoped(scopes, partial(self._run_branches, branches))
            elif isinstance(head, TryToken):
                # The body is done: settle it under the blocks around it, not under itself.
                outer = [s for s in scopes if s is not head]
                await self._scoped(outer, partial(self.endpoint.settle_try, head, False))
            elif scopes:
                await self._scoped(scopes, partial(self._perform, thread, head))
            else:
                await self._perform(thread, head)

    async def _perform(self, thread: Thread, step: LocalStep) -> None:
        if isinstance(step, Quorum):
            await self.handle(RecvAnyEffect(self.monitor.quorum_senders(thread)))
            return
        if type(step) is Send or type(step) is Recv:
            await self._plan(step).perform()  # as `handle` would, planned (e.g. in a timeout block)
            return
        await self.handle(self._effect(step))
        if isinstance(step, Local):
            self.monitor.on_local(step)

    def _plan(self, step: Send | Recv) -> _Plan:
        """The plan of a straight-line send or receive, made once per step."""
        plan = self._plans.get(id(step))
        if plan is None:
            plan = self._plans[id(step)] = _Plan(step, self._performer(step))
        return plan

    def _effect(self, step: LocalStep) -> Effect:
        """The leaf effect of `step`, made once per step."""
        effect = self._effects.get(id(step))
        if effect is None:
            effect = self._effects[id(step)] = _effect_of(step)
        return effect

    def _via_handle(self, step: Send | Recv) -> Callable[[], Awaitable[Any]]:
        return partial(self.handle, self._effect(step))

    async def _run_branches(self, branches: list[Thread]) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for branch in branches:
                    group.create_task(self._run_thread(branch))
        except BaseExceptionGroup as errors:
            raise first_error(errors) from None

    async def _scoped(self, scopes: list[Scope], action: Callable[[], Awaitable[Any]]) -> None:
        """Run `action` inside the blocks `scopes` (outermost first): under the earliest deadline of
        the timeout blocks, and with a failure settling the innermost try block it belongs to."""
        timer: TimeoutToken | None = None
        for scope in scopes:
            if isinstance(scope, TimeoutToken) and scope.deadline is not None:
                if timer is None or timer.deadline is None or scope.deadline <= timer.deadline:
                    timer = scope  # ties: the inner block expires first, as nested scopes would
        try:
            if timer is None or timer.deadline is None:
                await action()
                return
            deadline = asyncio.timeout_at(timer.deadline)
            try:
                async with deadline:
                    await action()
                return
            except TimeoutError:
                if not deadline.expired() or not self.endpoint.expire_timeout(timer):
                    raise
                return  # the monitor is in the block's alt now
        except ProtocolViolation:
            raise  # a bug in the role, not a failure the saga compensates
        except Exception as exc:
            # Guard denial, timeout, transport failure, behaviour exception (SPEC §4.6).
            tries = [s for s in scopes if isinstance(s, TryToken) and s.active]
            for index in range(len(tries) - 1, -1, -1):
                token = tries[index]
                if isinstance(exc, TryAborted) and exc.token is not token:
                    continue
                outer = [s for s in scopes[: scopes.index(token)] if s.active]
                await self._scoped(outer, partial(self.endpoint.settle_try, token, True))
                return
            raise


class _Plan:
    """How the driver performs one straight-line step, and the plan of the step that followed it
    the last time: in a loop's body the next step is nearly always the same one, so the driver finds
    its plan by one identity test (`next.step is` the monitor's next step) rather than a look-up."""

    __slots__ = ("next", "perform", "step")

    def __init__(self, step: object, perform: Callable[[], Awaitable[Any]]) -> None:
        self.step = step
        self.perform = perform
        self.next: _Plan = self  # a plan of its own step: replaced at the first step that follows


_START = object()
"""The step of a thread's plan before its first step: no monitor step (nor None) is it."""


async def _nothing() -> None:
    """What a thread's plan before its first step performs: never called (its step, `_START`, is no
    monitor step, so it is never taken as the next step's plan)."""


def _effect_of(step: LocalStep) -> Effect:
    """The leaf effect that performs `step` (payloads and decisions left to the behaviour)."""
    if isinstance(step, Send):
        return SendEffect(step.to, step.label, None, step)
    if isinstance(step, Recv):
        return RecvEffect(step.from_, step.label)
    if isinstance(step, Choose):
        return ChooseEffect(None, (), step)
    if isinstance(step, Offer):
        return OfferEffect(step.from_, labels=tuple(branch.label for branch in step.branches))
    if isinstance(step, Local):
        return LocalEffect(step.action, step.args, step)
    raise TypeError(f"no effect performs a {type(step).__name__} step")
