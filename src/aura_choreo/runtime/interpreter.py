"""The effect interpreter: runs a `Program` for one endpoint over a handler stack.

Leaf effects go to the handler stack: `EndpointHandler` at the bottom performs them on the endpoint
(asking the behaviour for payloads and decisions it was not given); middleware (trace, metrics, retry,
fault injection; see `runtime.middleware`) wraps it. Structural effects are run here: `if` and counted
loops on the endpoint's known values, `rec`/`continue`, `par` (one task per branch in a task group),
`quorum`, `timeout` (SPEC §4.5) and `try` (SPEC §4.6).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Protocol

from aura_choreo.errors import AuraChoreoError, ProtocolViolation
from aura_choreo.projection.local_types import If
from aura_choreo.runtime.behaviour import BehaviourAdapter
from aura_choreo.runtime.endpoint import Endpoint, TryAborted
from aura_choreo.runtime.expressions import ExpressionError, evaluate, matches_pattern
from aura_choreo.runtime.program import (
    ChooseEffect,
    ContinueEffect,
    Effect,
    IfEffect,
    LocalEffect,
    LoopEffect,
    OfferEffect,
    ParEffect,
    Program,
    QuorumEffect,
    RecEffect,
    RecvAnyEffect,
    RecvEffect,
    SendEffect,
    TimeoutEffect,
    TryEffect,
)


class Handler(Protocol):
    """Performs leaf effects; middleware wraps another handler."""

    async def handle(self, effect: Effect) -> Any: ...


class EndpointHandler:
    """The bottom of the stack: performs effects on the endpoint, asking the behaviour when needed."""

    def __init__(self, endpoint: Endpoint, behaviour: BehaviourAdapter) -> None:
        self.endpoint = endpoint
        self.behaviour = behaviour

    async def handle(self, effect: Effect) -> Any:
        ep = self.endpoint
        if isinstance(effect, SendEffect):
            message = effect.message
            step = effect.step
            if message is None and step is not None:
                message = await _resolved(self.behaviour.payload(step.label, step.payload, ep.env))
                if message is None:
                    message = step.label if not step.payload else None
            await ep.send(effect.to, message, label=effect.label)
            return None
        if isinstance(effect, RecvEffect):
            return await ep.recv(effect.from_, effect.label)
        if isinstance(effect, RecvAnyEffect):
            return await ep.recv_any(effect.roles)
        if isinstance(effect, ChooseEffect):
            label = effect.label
            if label is None:
                if effect.step is None:
                    raise ValueError("a choose effect needs a label or a step")
                label = str(await _resolved(self.behaviour.decide(effect.step, ep.env)))
            await ep.choose(label)
            return label
        if isinstance(effect, OfferEffect):
            return await ep.offer(effect.from_)
        if isinstance(effect, LocalEffect):
            let = effect.step
            if let is not None and let.var is not None:
                try:
                    ep.env[let.var] = evaluate(let.expr, ep.env) if let.expr is not None else None
                except ExpressionError:  # a value this role cannot compute: its behaviour provides it
                    ep.env[let.var] = await _resolved(self.behaviour.value(let.var, ep.env))
                return ep.env[let.var]
            args = tuple(_arg_value(a, ep.env) for a in effect.args)
            result = await _resolved(self.behaviour.local(effect.action, args, ep.env))
            await ep.local(effect.action, *args)
            return result
        raise TypeError(f"not a leaf effect: {type(effect).__name__}")


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


class _ContinueSignal(Exception):
    def __init__(self, label: str) -> None:
        self.label = label
        super().__init__(label)


class Interpreter:
    """Runs programs for one endpoint."""

    def __init__(self, endpoint: Endpoint, handler: Handler) -> None:
        self.endpoint = endpoint
        self.handler = handler

    async def run(self, program: Program) -> None:
        """Run `program` to its end."""
        try:
            await self._run(program)
        except _ContinueSignal as signal:
            ep = self.endpoint
            raise ProtocolViolation(
                ep.role, "a rec block", f"continue {signal.label}", session=ep.session.id
            ) from None

    async def _run(self, program: Program) -> None:
        handle = self.handler.handle
        for effect in program.effects:
            kind = type(effect)
            if kind is SendEffect or kind is RecvEffect or kind is RecvAnyEffect or kind is LocalEffect:
                await handle(effect)
            elif isinstance(effect, ChooseEffect | OfferEffect):
                label = await handle(effect)
                for branch_label, body in effect.branches:
                    if branch_label == label:
                        await self._run(body)
                        break
            elif isinstance(effect, IfEffect):
                await self._run_if(effect)
            elif isinstance(effect, LoopEffect):
                await self._run_loop(effect)
            elif isinstance(effect, RecEffect):
                await self._run_rec(effect)
            elif isinstance(effect, ContinueEffect):
                raise _ContinueSignal(effect.label)
            elif isinstance(effect, ParEffect):
                await self._run_par(effect)
            elif isinstance(effect, QuorumEffect):
                await self._run_quorum(effect)
            elif isinstance(effect, TimeoutEffect):
                await self._run_timeout(effect)
            elif isinstance(effect, TryEffect):
                await self._run_try(effect)
            else:
                raise TypeError(f"unknown effect {kind.__name__}")

    def _evaluate(self, expr: Any) -> Any:
        from aura_choreo.runtime.monitor import EvaluationFailed

        ep = self.endpoint
        try:
            return evaluate(expr, ep.env)
        except ExpressionError as exc:
            raise EvaluationFailed(str(exc), role=ep.role, session=ep.session.id) from None

    async def _run_if(self, effect: IfEffect) -> None:
        step: If = effect.step
        value = self._evaluate(step.expr)
        chosen: str | None = None
        if step.patterns:
            for (label, _), pattern in zip(effect.branches, step.patterns, strict=False):
                if matches_pattern(value, pattern):
                    chosen = label
                    break
        else:
            wanted = "then" if value else "else"
            labels = [label for label, _ in effect.branches]
            if wanted in labels:
                chosen = wanted
            elif labels:
                index = 0 if value else 1
                chosen = labels[index] if index < len(labels) else None
        for label, body in effect.branches:
            if label == chosen:
                await self._run(body)
                return

    async def _run_loop(self, effect: LoopEffect) -> None:
        step = effect.step
        count = self._evaluate(step.count)
        start = self._evaluate(step.start) if step.start is not None else 0
        env = self.endpoint.env
        for i in range(int(count)):
            if step.var is not None:
                env[step.var] = start + i
            await self._run(effect.body)

    async def _run_rec(self, effect: RecEffect) -> None:
        while True:
            try:
                await self._run(effect.body)
                return
            except _ContinueSignal as signal:
                if signal.label != effect.label:
                    raise

    async def _run_par(self, effect: ParEffect) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for branch in effect.branches:
                    group.create_task(self._run(branch))
        except BaseExceptionGroup as group_error:
            raise first_error(group_error) from None

    async def _run_quorum(self, effect: QuorumEffect) -> None:
        step = effect.step
        remaining = [r.from_ for r in step.body]
        for _ in range(min(step.min, len(remaining))):
            sender, _message = await self.handler.handle(RecvAnyEffect(tuple(remaining)))
            remaining.remove(sender)

    async def _run_timeout(self, effect: TimeoutEffect) -> None:
        ep = self.endpoint
        token = ep.enter_timeout(effect.step)
        if token is None or token.deadline is None:
            await self._run(effect.body)
            return
        try:
            async with asyncio.timeout_at(token.deadline):
                await self._run(effect.body)
        except TimeoutError:
            if not ep.expire_timeout(token):
                raise
            await self._run(effect.alt)

    async def _run_try(self, effect: TryEffect) -> None:
        ep = self.endpoint
        token = ep.try_token(effect.step)
        failed = False
        try:
            await self._run(effect.body)
        except TryAborted as aborted:
            if aborted.token is not token:
                raise
            failed = True
        except (ProtocolViolation, _ContinueSignal):
            raise  # a bug in the role's code, not a failure the saga compensates
        except (AuraChoreoError, Exception):
            failed = True  # guard denial, timeout, transport failure, behaviour exception (SPEC §4.6)
        committed = await ep.settle_try(token, failed)
        if not committed:
            await self._run(effect.comp)


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
        if isinstance(leaf, AuraChoreoError | _ContinueSignal | TimeoutError):
            return leaf
    return leaves[0] if leaves else group

