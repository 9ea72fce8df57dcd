"""Running roles: imperative code, effect programs, or behaviours, one or all roles of a session.

    results = await run_session(session, InMemoryTransport(), {
        "Coordinator": coordinator,            # async def coordinator(ep): ... (imperative)
        "Participant": ParticipantBehaviour(), # behaviour-driven; omitted roles use DefaultBehaviour
    })
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any, cast

from aura_choreo.effects.api import enter_role
from aura_choreo.runtime.behaviour import BehaviourAdapter, DefaultBehaviour, ProtocolHints
from aura_choreo.runtime.driver import Driver
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.interpreter import EndpointHandler, Handler, Interpreter, first_error
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.node_pool import shared_node
from aura_choreo.runtime.program import Program
from aura_choreo.runtime.session import Session
from aura_choreo.transports.base import Transport

RoleCode = Callable[[Endpoint], Awaitable[Any]] | Program | object | None
"""An async function of the endpoint, a `Program`, a behaviour object, or None (default behaviour)."""

MiddlewareFactory = Callable[[Handler], Handler]

RoleFunction = Callable[[Endpoint], Any]
"""Imperative role code (named once: a `Callable[...]` written inside `run_role` would be built anew
at every call, a few microseconds of every session's set-up)."""


def build_handler(
    endpoint: Endpoint, behaviour: BehaviourAdapter, middleware: Sequence[MiddlewareFactory] = ()
) -> Handler:
    """The handler stack: the endpoint handler wrapped by each middleware, first listed outermost."""
    handler: Handler = EndpointHandler(endpoint, behaviour)
    for factory in reversed(middleware):
        handler = factory(handler)
    return handler


async def run_role(
    endpoint: Endpoint,
    code: RoleCode = None,
    *,
    seed: int = 0,
    hints: ProtocolHints | None = None,
    middleware: Sequence[MiddlewareFactory] = (),
) -> Any:
    """Run one role to its end inside `async with endpoint`; returns what imperative code returns, else
    the role's known values (`endpoint.env`)."""
    async with endpoint as ep:
        enter_role(ep)  # `role_effects()` in this role's task is `ep.effects` (behaviours use it)
        if _is_role_function(code):
            result = cast(RoleFunction, code)(ep)
            return await result if inspect.isawaitable(result) else result
        if hints is None:
            hints = ProtocolHints.from_local_types(ep.session.local_types.values())
        await run_behaviour(ep, code, seed, hints, middleware)
        return ep.env


def run_behaviour(
    ep: Endpoint,
    code: RoleCode,
    seed: int,
    hints: ProtocolHints,
    middleware: Sequence[MiddlewareFactory] = (),
) -> Coroutine[Any, Any, None]:
    """Run a hand-built `Program`, or the role's local type driven by behaviour `code` (None: the
    default behaviour, seeded with `seed`), on an entered endpoint: the coroutine to await.

    Not itself a coroutine function: it returns the interpreter's or driver's own coroutine, so a
    role's task resumes one frame fewer at every message it waits for.
    """
    user = None if isinstance(code, Program) else code
    handler = build_handler(ep, BehaviourAdapter(user, DefaultBehaviour(seed, hints)), middleware)
    if isinstance(code, Program):
        return Interpreter(ep, handler).run(code)
    return Driver(ep, handler).run()


def _is_role_function(code: object) -> bool:
    """Imperative role code: a function or method of the endpoint (behaviours are other objects)."""
    return (
        inspect.isfunction(code)  # `async def` functions too: the common case, and the cheapest test
        or inspect.iscoroutinefunction(code)
        or inspect.ismethod(code)
        or isinstance(code, functools.partial)
    )


async def run_session(
    session: Session,
    transport: Transport,
    roles: Mapping[str, RoleCode] | None = None,
    *,
    seed: int = 0,
    middleware: Sequence[MiddlewareFactory] = (),
    retransmit_after: float = 0.2,
    max_retransmit_after: float = 5.0,
    hints: ProtocolHints | None = None,
) -> dict[str, Any]:
    """Run every role of `session` over `transport` concurrently; returns each role's result.

    Every endpoint's session-start checks (the extensions' `on_session_start`, e.g. the capability
    manifest) run before any role's code, so a refused session fails with nothing sent. Roles missing
    from `roles` run the default behaviour (seeded with `seed` + the role's index). The first typed
    error of any role is raised as itself (not wrapped in an exception group). `retransmit_after` is
    the nodes' first retransmission delay (unreliable transports only), doubled per retry up to
    `max_retransmit_after`. `hints` are the behaviour hints
    of the session's local types (`ProtocolHints.from_local_types`); pass them when running many
    sessions of one protocol, to build them once.
    """
    roles = roles or {}
    if hints is None and not all(_is_role_function(roles.get(role)) for role in session.local_types):
        hints = ProtocolHints.from_local_types(session.local_types.values())
    results: dict[str, Any] = {}  # by role, in the session's role order
    async with AsyncExitStack() as stack:
        nodes: dict[str, Node] = {}
        for role in session.local_types:
            address = session.address(role)
            if address not in nodes:
                # Shared with any other `run_session` on this transport (one node per address).
                shared = shared_node(
                    transport,
                    address,
                    retransmit_after=retransmit_after,
                    max_retransmit_after=max_retransmit_after,
                )
                nodes[address] = await stack.enter_async_context(shared)
        endpoints = {
            role: session.endpoint(role, nodes[session.address(role)]) for role in session.local_types
        }
        try:
            start_all(endpoints.values())

            # Each task runs `run_role` itself (no wrapper storing its result): a frame fewer to
            # resume at every message a role waits for. Results are read once all have finished.
            tasks: dict[str, asyncio.Task[Any]] = {}
            try:
                async with asyncio.TaskGroup() as group:
                    for index, role in enumerate(session.local_types):
                        tasks[role] = group.create_task(
                            run_role(
                                endpoints[role],
                                roles.get(role),
                                seed=seed + index,
                                hints=hints,
                                middleware=middleware,
                            )
                        )
            except BaseExceptionGroup as errors:
                raise first_error(errors) from None
            # A role whose task was cancelled (a crash the simulator injects) has no result.
            results = {role: task.result() for role, task in tasks.items() if not task.cancelled()}
        finally:
            # A role cancelled before its code ran never entered its endpoint: end it here (once).
            for endpoint in endpoints.values():
                endpoint.close(ok=False)
        for node in nodes.values():
            node.linger = 0.0  # every role has finished: nothing left to deliver that anyone awaits
    return results


def start_all(endpoints: Iterable[Endpoint]) -> None:
    """Run the session-start checks of every endpoint, in order, before any of them communicates.

    A refusal is raised as itself (e.g. `CapabilityDenied` naming role and capability); the endpoints
    started so far, and the refused one, are ended (`on_session_end(..., ok=False)`) and released.
    """
    started: list[Endpoint] = []
    try:
        for endpoint in endpoints:
            started.append(endpoint)
            endpoint.start()
    except BaseException:
        for endpoint in started:
            endpoint.close(ok=False)
        raise
