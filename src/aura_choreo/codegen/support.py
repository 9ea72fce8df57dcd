"""What generated typestate code calls at run time (the only module of aura-choreo it imports).

Every generated method takes its state (`State._take`, which raises `StateReused` the second time),
performs its step through the role's `Endpoint` (so the monitor checks every call, exactly as for
hand-written code) and returns the next state. Decisions the role does not make itself (which branch
of an `if`, whether a counted loop runs again) are asked of the same monitor and expression rules the
runtime uses, so generated and hand-written roles can play in one session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import msgspec

from aura_choreo.errors import ProtocolViolation, RuntimeProtocolError
from aura_choreo.projection.local_types import If, LocalStep, Loop, child_sequences
from aura_choreo.runtime import Endpoint, run_role
from aura_choreo.runtime.interpreter import first_error

__all__ = [
    "BlockEnd",
    "End",
    "Endpoint",
    "Message",
    "RoleContext",
    "State",
    "StateReused",
    "run_behaviour",
]

M = TypeVar("M", bound="Message")
S = TypeVar("S", bound="State")


class StateReused(RuntimeProtocolError):
    """A typestate object was used a second time (mypy cannot see this; the run time does)."""


class Message(msgspec.Struct, frozen=True, array_like=True):
    """Base of generated message classes (one per label, typed fields)."""


class RoleContext:
    """One role's run through generated code: its endpoint, its peers' names, loop counters."""

    __slots__ = ("endpoint", "index", "loops", "peers")

    def __init__(self, endpoint: Endpoint, peers: Sequence[str] = (), index: int | None = None) -> None:
        self.endpoint = endpoint
        self.peers = tuple(peers)
        """For a family instance: the concrete peer of each communication step (by slot)."""
        self.index = index
        self.loops: dict[int, int] = {}
        """Rounds still to run of each counted loop being run (by its head state's number)."""

    async def send(self, to: str, label: str, fields: tuple[object, ...]) -> None:
        await self.endpoint.send(to, fields, label=label)

    async def recv(self, from_: str, label: str, cls: type[M]) -> M:
        return convert(cls, await self.endpoint.recv(from_, label))

    async def offer(self, from_: str, labels: tuple[str, ...] | None = None) -> tuple[str, object]:
        label = await self.endpoint.offer(from_, labels)
        return label, self.endpoint.last_message

    async def choose(self, label: str) -> None:
        await self.endpoint.choose(label)

    async def local(self, action: str) -> None:
        await self.endpoint.local(action)

    def step(self, path: Sequence[int]) -> LocalStep:
        """The step of this role's local type at `path` (the generator's numbering)."""
        seq = self.endpoint.local_type.steps
        step = seq[path[0]]
        for i in range(1, len(path), 2):
            seq = child_sequences(step)[path[i]]
            step = seq[path[i + 1]]
        return step

    def decide_if(self, path: Sequence[int]) -> int:
        """The index of the branch the monitor takes at the `if`/`match` at `path`.

        A `match` value no arm matches is a `ProtocolViolation` here (the typestate API has no state
        for "no arm"), as the runtime is moving to (`NoMatchingArm`)."""
        step = self.step(path)
        assert isinstance(step, If)
        branch = self.endpoint.monitor.decide_if(step)  # the monitor's own rule, so both agree
        for i, candidate in enumerate(step.branches):
            if candidate is branch:
                return i
        arms = ", ".join(step.patterns or [b.label for b in step.branches])
        ep = self.endpoint
        raise ProtocolViolation(
            ep.role, f"a value matching one of {arms}", "a value no arm matches", session=ep.session.id
        )

    def loop_round(self, path: Sequence[int], head: int) -> bool:
        """Whether the counted loop at `path` runs (another) round; its count is read on entry."""
        remaining = self.loops.get(head)
        if remaining is None:
            step = self.step(path)
            assert isinstance(step, Loop)
            monitor = self.endpoint.monitor
            count = monitor.evaluate(step.count, "a loop count")
            remaining = int(count) if isinstance(count, int) and step.body else 0
        if remaining <= 0:
            self.loops.pop(head, None)
            return False
        self.loops[head] = remaining - 1
        return True

    async def quorum(self, senders: Sequence[str], need: int) -> list[tuple[str, str, object]]:
        """Receive from `need` of `senders`, first come first served: (sender, label, message)."""
        remaining = list(senders)
        got: list[tuple[str, str, object]] = []
        for _ in range(min(need, len(remaining))):
            sender, message = await self.endpoint.recv_any(tuple(remaining))
            remaining.remove(sender)
            got.append((sender, self.endpoint.last_sender_label, message))
        return got

    async def par(self, branches: Sequence[Callable[[], Awaitable[object]]]) -> None:
        """Run the branches of a par concurrently; the first error (if any) is raised."""
        try:
            async with asyncio.TaskGroup() as group:
                for branch in branches:
                    group.create_task(_awaited(branch))
        except BaseExceptionGroup as errors:
            raise first_error(errors) from None

    async def timeout(
        self, body: Callable[[], Awaitable[object]], alt: Callable[[], Awaitable[object]]
    ) -> bool:
        """Run a timeout block's body under its deadline, else its alt; True if it timed out."""
        async with self.endpoint.timeout_block() as block:
            await body()
        if block.expired:
            await alt()
        return block.expired

    async def saga(
        self, body: Callable[[], Awaitable[object]], comp: Callable[[], Awaitable[object]]
    ) -> bool:
        """Run a try block's body, then its compensation if the saga does not commit; True if it did."""
        async with self.endpoint.saga() as saga:
            await body()
        if not saga.committed:
            await comp()
        return saga.committed


async def _awaited(branch: Callable[[], Awaitable[object]]) -> None:
    await branch()


def convert(cls: type[M], message: object) -> M:
    """A received message as the generated class (the runtime decodes into its own class)."""
    if isinstance(message, cls):
        return message
    if isinstance(message, msgspec.Struct):
        return cls(*msgspec.structs.astuple(message))
    return cls()  # an empty payload arrives as nothing


class State:
    """Base of generated states: usable once (`StateReused` otherwise)."""

    __slots__ = ("_ctx", "_used")
    _line = 0

    def __init__(self, ctx: RoleContext) -> None:
        self._ctx = ctx
        self._used = False

    def _take(self) -> RoleContext:
        if self._used:
            ctx = self._ctx
            line = f" (protocol line {self._line})" if self._line else ""
            raise StateReused(
                f"state {type(self).__name__}{line} was already used: continue from the state its"
                " method returned",
                role=ctx.endpoint.role,
                session=ctx.endpoint.session.id,
                step=f"step {ctx.endpoint.monitor.step_count + 1}",
            )
        self._used = True
        return self._ctx

    def __repr__(self) -> str:
        return f"<{type(self).__name__}{' (used)' if self._used else ''}>"


class End(State):
    """The role's end: no method, so mypy rejects any further call."""

    __slots__ = ()


class BlockEnd(State):
    """The end of a block run as a callback (a par branch, a timeout body or alt, a try body or
    compensation): the callback returns it to prove it ran its part to the end."""

    __slots__ = ()


def started(
    cls: type[S], endpoint: Endpoint, role: str, peers: Sequence[str] = (), index: int | None = None
) -> S:
    """The first state of `role` on `endpoint` (which must play exactly that role)."""
    if endpoint.role != role:
        raise ValueError(f"this API is for role {role}, but the endpoint plays {endpoint.role}")
    return cls(RoleContext(endpoint, peers, index))


async def run_behaviour(endpoint: Endpoint, behaviour: object | None, *, seed: int = 0) -> dict[str, Any]:
    """Run the endpoint's role by its local type, asking `behaviour` for payloads and decisions
    (SPEC §5.1; None: the default behaviour); returns the role's known values.

    The runtime's own runner does it (`run_role`, which enters the endpoint; entering one that a
    session already entered is harmless: start and close happen once)."""
    result: dict[str, Any] = await run_role(endpoint, behaviour, seed=seed)
    return result
