"""Effect programs: a role's code as data, run by an interpreter over a handler stack.

    program = Program().send("B", Ping(n=1)).recv("B").choose("done")
    await interpret(program, endpoint)

A program is an immutable tuple of effects. Leaf effects (send, recv, recv_any, choose, offer, local)
go through the handler stack (transport handler plus middleware); `par` and the branches of a choose
or offer are run by the interpreter. The behaviour-driven runner does not compile local types into
programs: it follows the monitor (`runtime.driver`) and sends the same leaf effects down the stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Re-exported: one base for message and role effects (SPEC §5.8).
from aura_choreo.effects.ops import Effect as Effect
from aura_choreo.projection.local_types import Choose, Local, Send
from aura_choreo.runtime.messages import label_of


@dataclass(frozen=True)
class SendEffect(Effect):
    """Send to `to`; with `message` None the behaviour supplies the payload for `label`."""

    to: str
    label: str | None
    message: object = None
    step: Send | None = None


@dataclass(frozen=True)
class RecvEffect(Effect):
    """Receive from `from_` (the next message, or the next one labelled `label`)."""

    from_: str
    label: str | None = None


@dataclass(frozen=True)
class RecvAnyEffect(Effect):
    """Receive the first message from any of `roles`."""

    roles: tuple[str, ...]


@dataclass(frozen=True)
class ChooseEffect(Effect):
    """Take branch `label` (None: the behaviour decides) and run its program (if any)."""

    label: str | None
    branches: tuple[tuple[str, Program], ...] = ()
    step: Choose | None = None


@dataclass(frozen=True)
class OfferEffect(Effect):
    """Receive the deciding message from `from_` and run the program of its label (if any)."""

    from_: str
    branches: tuple[tuple[str, Program], ...] = ()
    labels: tuple[str, ...] = ()
    """The choice's branch labels when known (an offer in a parallel block takes only these)."""


@dataclass(frozen=True)
class LocalEffect(Effect):
    """A local action of the behaviour (or a `let` when `step.var` is set)."""

    action: str
    args: tuple[object, ...] = ()
    step: Local | None = None


@dataclass(frozen=True)
class ParEffect(Effect):
    """Branches that run concurrently, one task each."""

    branches: tuple[Program, ...]


@dataclass(frozen=True)
class Program:
    """An immutable sequence of effects, built fluently; `then` composes programs."""

    effects: tuple[Effect, ...] = ()

    def _add(self, effect: Effect) -> Program:
        return Program((*self.effects, effect))

    def send(self, to: str, message: object, *, label: str | None = None) -> Program:
        """Send `message` to `to` (label: `label`, or the message's class name / the string itself)."""
        return self._add(SendEffect(to, label or label_of(message), message))

    def recv(self, from_: str, label: str | None = None) -> Program:
        return self._add(RecvEffect(from_, label))

    def recv_any(self, roles: Iterable[str]) -> Program:
        return self._add(RecvAnyEffect(tuple(roles)))

    def choose(self, label: str, branches: Mapping[str, Program] | None = None) -> Program:
        """Take branch `label`; with `branches`, then run the program of the chosen label."""
        return self._add(ChooseEffect(label, tuple((branches or {}).items())))

    def offer(self, from_: str, branches: Mapping[str, Program] | None = None) -> Program:
        return self._add(OfferEffect(from_, tuple((branches or {}).items())))

    def local(self, action: str, *args: object) -> Program:
        return self._add(LocalEffect(action, args))

    def par(self, *branches: Program) -> Program:
        return self._add(ParEffect(branches))

    def then(self, other: Program) -> Program:
        """This program followed by `other`."""
        return Program(self.effects + other.effects)

    def __add__(self, other: Program) -> Program:
        return self.then(other)

    def __len__(self) -> int:
        return len(self.effects)


LEAF_EFFECTS = (SendEffect, RecvEffect, RecvAnyEffect, ChooseEffect, OfferEffect, LocalEffect)
"""Effects that go through the handler stack."""
