"""The handler stack for leaf effects, and the interpreter of hand-built `Program`s.

Leaf effects go to the handler stack: `EndpointHandler` at the bottom performs them on the endpoint
(asking the behaviour for payloads and decisions it was not given); middleware (trace, metrics, retry,
fault injection; see `runtime.middleware`) wraps it. Both a hand-built program (`Interpreter`) and
the behaviour-driven runner (`runtime.driver`, which follows the monitor) go through this stack.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from aura_choreo.effects.ops import Handler as Handler  # re-exported: one protocol for all effects
from aura_choreo.errors import AuraChoreoError
from aura_choreo.projection.local_types import Recv, Send
from aura_choreo.runtime.behaviour import BehaviourAdapter, DefaultBehaviour
from aura_choreo.runtime.branching import NoMatchingArm
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.expressions import ExpressionError, evaluate
from aura_choreo.runtime.program import (
    LEAF_EFFECTS,
    ChooseEffect,
    Effect,
    LocalEffect,
    OfferEffect,
    ParEffect,
    Program,
    RecvAnyEffect,
    RecvEffect,
    SendEffect,
)


class EndpointHandler:
    """The bottom of the stack: performs effects on the endpoint, asking the behaviour when needed."""

    def __init__(self, endpoint: Endpoint, behaviour: BehaviourAdapter) -> None:
        self.endpoint = endpoint
        self.behaviour = behaviour
        self._default = behaviour.default if _default_only(behaviour) else None
        """The default behaviour when it supplies every payload as it is (see `step_performer`)."""

    async def handle(self, effect: Effect) -> Any:
        ep = self.endpoint
        if isinstance(effect, SendEffect):
            return await self._send(effect)
        if isinstance(effect, RecvEffect):
            return await ep.recv(effect.from_, effect.label)
        if isinstance(effect, RecvAnyEffect):
            return await ep.recv_any(effect.roles)
        if isinstance(effect, ChooseEffect):
            label = effect.label
            if label is None:
                if effect.step is None:
                    raise ValueError("a choose effect needs a label or a step")
                await ep.load_guard_facts()  # guards reading `journal_facts` see this role's journal
                try:
                    label = str(await self.behaviour.decide(effect.step, ep.env))
                except NoMatchingArm as exc:
                    raise exc.at(ep.role, ep.session.id, f"step {ep.monitor.step_count + 1}") from None
            await ep.choose(label, step=effect.step)  # the runner knows which choice it is
            return label
        if isinstance(effect, OfferEffect):
            return await ep.offer(effect.from_, effect.labels or None)
        if isinstance(effect, LocalEffect):
            let = effect.step
            if let is not None and let.var is not None:
                try:
                    ep.env[let.var] = evaluate(let.expr, ep.env) if let.expr is not None else None
                except ExpressionError:  # a value this role cannot compute: its behaviour provides it
                    ep.env[let.var] = await self.behaviour.value(let.var, ep.env)
                return ep.env[let.var]
            args = tuple(_arg_value(a, ep.env) for a in effect.args)
            result = await _resolved(self.behaviour.local(effect.action, args, ep.env))
            await ep.local(effect.action, *args)
            return result
        raise TypeError(f"not a leaf effect: {type(effect).__name__}")

    def step_performer(self, step: Send | Recv) -> Callable[[], Awaitable[Any]]:
        """A call doing what `handle` does with the effect of a send or receive step (the payload of
        a send left to the behaviour), for a caller that performs the step again and again (the
        behaviour-driven runner): it skips `handle`'s dispatch and its frame, and a default payload
        is built as the spec's class directly (no dict, no coercion; `DefaultBehaviour.sender`)."""
        ep = self.endpoint
        if type(step) is Recv:
            # The class's function, not a bound method: one call layer less per message.
            return partial(type(ep).recv, ep, step.from_, step.label)
        assert type(step) is Send
        if self._default is not None:
            spec = ep.session.catalog.step_spec(step, step.label, step.payload)
            perform = self._default.sender(step.payload, spec.cls, spec.fields, ep, step.to, step.label)
            if perform is not None:
                return perform
        return partial(self._send, SendEffect(step.to, step.label, None, step))

    async def _send(self, effect: SendEffect) -> None:
        ep = self.endpoint
        message = effect.message
        step = effect.step
        if message is None and step is not None:
            message = self.behaviour.payload(step.label, step.payload, ep.env, ep.received)
            if type(message) is not dict and inspect.isawaitable(message):
                message = await message  # an `async` behaviour method (the default's is plain)
            if message is None:
                message = step.label if not step.payload else None
        await ep.send(effect.to, message, label=effect.label)


def _default_only(behaviour: BehaviourAdapter) -> bool:
    """Whether every payload comes from `DefaultBehaviour.payload` as it is (no user behaviour, no
    subclass overriding it): then `step_performer` builds a send's message with `DefaultBehaviour.sender`."""
    return (
        type(behaviour) is BehaviourAdapter
        and behaviour.behaviour is None
        and type(behaviour.default) is DefaultBehaviour
    )


async def _resolved(value: Any) -> Any:
    """Behaviour methods may be plain or `async`: await what needs awaiting."""
    if inspect.isawaitable(value):
        return await value
    return value


def _arg_value(arg: object, env: dict[str, object]) -> object:
    from aura_choreo.syntax.ast import Expr

    if isinstance(arg, Expr):
        try:
            return evaluate(arg, env)
        except ExpressionError:
            return None
    return arg


class Interpreter:
    """Runs a hand-built `Program` for one endpoint (its leaf effects, chosen branches and `par`).

    Behaviour-driven roles do not come through here: `runtime.driver.Driver` runs them from the
    monitor's next steps.
    """

    def __init__(self, endpoint: Endpoint, handler: Handler) -> None:
        self.endpoint = endpoint
        self.handler = handler

    async def run(self, program: Program) -> None:
        """Run `program` to its end."""
        handle = self.handler.handle
        for effect in program.effects:
            if isinstance(effect, ChooseEffect | OfferEffect):
                label = await handle(effect)
                for branch_label, body in effect.branches:
                    if branch_label == label:
                        await self.run(body)
                        break
            elif isinstance(effect, ParEffect):
                try:
                    async with asyncio.TaskGroup() as group:
                        for branch in effect.branches:
                            group.create_task(self.run(branch))
                except BaseExceptionGroup as group_error:
                    raise first_error(group_error) from None
            elif isinstance(effect, LEAF_EFFECTS):
                await handle(effect)
            else:
                raise TypeError(f"unknown effect {type(effect).__name__}")


def first_error(group: BaseExceptionGroup[Any]) -> BaseException:
    """The most telling error of a task group: a typed aura-choreo error first."""
    leaves: list[BaseException] = []

    def flatten(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                flatten(inner)
        else:
            leaves.append(error)

    flatten(group)
    for leaf in leaves:
        if isinstance(leaf, AuraChoreoError | TimeoutError):
            return leaf
    return leaves[0] if leaves else group
