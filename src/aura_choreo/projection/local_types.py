"""Local types (SPEC §3.1): what one role must do in a session.

A local type is a sequence of steps (`LocalSeq`); `end` is implicit at the end of the top-level
sequence. A compound step is followed by its continuation in the same sequence; continuations are
never copied into branches. Role names are concrete (`Voter[1]` for family instances).

These values are produced by projection and consumed, unchanged, by the verifier (state machines),
the run-time monitor, the simulator and the renderers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from aura_choreo.diagnostics import UNKNOWN_SPAN, Span
from aura_choreo.syntax.ast import Expr

# Re-exported: the vocabulary steps are made of (defined below semantics, which builds them).
from aura_choreo.syntax.payload import AnnotationMap as AnnotationMap
from aura_choreo.syntax.payload import Payload as Payload
from aura_choreo.syntax.payload import PayloadItem as PayloadItem
from aura_choreo.syntax.payload import annotation_value as annotation_value


@dataclass(frozen=True)
class LocalStep:
    """Base of local-type steps."""

    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


LocalSeq = tuple[LocalStep, ...]


@dataclass(frozen=True)
class Send(LocalStep):
    """Send `label` with `payload` to `to`; annotations are the sender's (guards read them)."""

    to: str
    label: str
    payload: Payload = ()
    annotations: AnnotationMap = ()


@dataclass(frozen=True)
class Recv(LocalStep):
    """Receive `label` with `payload` from `from_`; annotations are the message's (e.g. `timeout`)."""

    from_: str
    label: str
    payload: Payload = ()
    annotations: AnnotationMap = ()


@dataclass(frozen=True)
class Branch:
    """A branch of a choose/offer/if: label, optional guard, body."""

    label: str
    body: LocalSeq
    guard: Expr | None = None
    payload: Payload = ()
    """For an offer branch: the payload of the message that decided it (its receive is not in body)."""


@dataclass(frozen=True)
class Choose(LocalStep):
    """Internal choice by this role. `choice` names the decision for behaviours (`choose_<choice>`)."""

    branches: tuple[Branch, ...]
    choice: str = ""
    expr: Expr | None = None
    """For a `match`/`if` decided by this role: the expression its behaviour evaluates."""


@dataclass(frozen=True)
class Offer(LocalStep):
    """External choice: the first message from `from_` decides; branches keyed by that label."""

    from_: str
    branches: tuple[Branch, ...]
    choice: str = ""


@dataclass(frozen=True)
class If(LocalStep):
    """A conditional on shared knowledge, evaluated locally by every involved role (labels `then`/`else`
    or match patterns' last segments)."""

    expr: Expr
    branches: tuple[Branch, ...]
    patterns: tuple[str, ...] = ()
    """For a `match`: the full pattern of each branch (`Vote::Commit`, `_`), parallel to branches."""


@dataclass(frozen=True)
class Loop(LocalStep):
    """A counted loop; `count` is known to every role; `var` is the loop index (if any)."""

    count: Expr
    body: LocalSeq
    var: str | None = None
    start: Expr | None = None
    """For `for i in a..b`: the first index (`count` is then `b - a`)."""


@dataclass(frozen=True)
class Rec(LocalStep):
    """Labelled recursion; falling off the end of `body` leaves the recursion."""

    label: str
    body: LocalSeq


@dataclass(frozen=True)
class Continue(LocalStep):
    """Jump back to the start of the enclosing `Rec` with this label."""

    label: str


@dataclass(frozen=True)
class Par(LocalStep):
    """Branches that run concurrently; the step ends when every branch has."""

    branches: tuple[LocalSeq, ...]


@dataclass(frozen=True)
class Quorum(LocalStep):
    """Receives from family instances; completes after `min` of them, later ones discarded."""

    min: int
    body: tuple[Recv, ...]


@dataclass(frozen=True)
class Local(LocalStep):
    """A local action (`R: Action(args)`), or a `let` binding when `var` is set."""

    action: str
    args: tuple[Expr, ...] = ()
    var: str | None = None
    expr: Expr | None = None


@dataclass(frozen=True)
class Timeout(LocalStep):
    """Run `body` with a deadline (ms); if this role's part is not done in time, run `alt`."""

    deadline_ms: int
    body: LocalSeq
    alt: LocalSeq
    waiter: bool = True
    """Whether this role waits (receives) in the body; only waiters arm the deadline."""


@dataclass(frozen=True)
class Try(LocalStep):
    """A saga: `body`, and `comp` if any participant's body fails (SPEC §4.6)."""

    body: LocalSeq
    comp: LocalSeq
    coordinator: str = ""
    participants: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalType:
    """The projection of one protocol onto one role."""

    protocol: str
    role: str
    steps: LocalSeq
    roles: tuple[str, ...] = ()
    """Every concrete role of the protocol, in declaration order."""

    def iter_steps(self) -> Iterator[LocalStep]:
        """Every step, depth first, including those nested in compound steps."""
        return iter_steps(self.steps)


def iter_steps(seq: LocalSeq) -> Iterator[LocalStep]:
    """Every step of a sequence, depth first."""
    for step in seq:
        yield step
        for child in child_sequences(step):
            yield from iter_steps(child)


def child_sequences(step: LocalStep) -> tuple[LocalSeq, ...]:
    """The nested sequences of a compound step (empty for simple steps)."""
    if isinstance(step, Choose | Offer | If):
        return tuple(b.body for b in step.branches)
    if isinstance(step, Loop | Rec):
        return (step.body,)
    if isinstance(step, Par):
        return step.branches
    if isinstance(step, Quorum):
        return (step.body,)
    if isinstance(step, Timeout):
        return (step.body, step.alt)
    if isinstance(step, Try):
        return (step.body, step.comp)
    return ()


def map_sequences(step: LocalStep, visit: Callable[[LocalSeq], LocalSeq]) -> LocalStep:
    """`step` with `visit` applied to each nested sequence (a quorum's receives excepted)."""
    if isinstance(step, Choose | Offer | If):
        return replace(step, branches=tuple(replace(b, body=visit(b.body)) for b in step.branches))
    if isinstance(step, Loop | Rec):
        return replace(step, body=visit(step.body))
    if isinstance(step, Par):
        return replace(step, branches=tuple(visit(b) for b in step.branches))
    if isinstance(step, Timeout):
        return replace(step, body=visit(step.body), alt=visit(step.alt))
    if isinstance(step, Try):
        return replace(step, body=visit(step.body), comp=visit(step.comp))
    return step
