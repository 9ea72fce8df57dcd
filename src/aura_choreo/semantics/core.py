"""The core global language: what every piece of DSL sugar expands to (DESIGN: desugar once).

Roles are concrete (`Voter[1]`); loops that may `break` are already rewritten into `Rec` and choices,
so projection sees no break. Every node keeps the span of the source it came from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from aura_choreo.diagnostics import UNKNOWN_SPAN, Span
from aura_choreo.syntax.ast import Expr
from aura_choreo.syntax.payload import AnnotationMap, Payload


@dataclass(frozen=True)
class CoreStmt:
    """Base of core statements."""

    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


CoreSeq = tuple[CoreStmt, ...]


@dataclass(frozen=True)
class Message(CoreStmt):
    """`sender -> receiver: label(payload)`; annotations as written on the sender, receiver, statement."""

    sender: str
    receiver: str
    label: str
    payload: Payload = ()
    sender_annotations: AnnotationMap = ()
    message_annotations: AnnotationMap = ()
    """Everything written on the send (statement, sender and receiver): what the receiver sees."""
    notification: bool = False
    """Inserted by projection to tell `receiver` which branch was chosen (SPEC §3.4)."""


@dataclass(frozen=True)
class CoreBranch:
    """A branch of a choice or conditional."""

    label: str
    body: CoreSeq
    guard: Expr | None = None
    pattern: str | None = None
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Choice(CoreStmt):
    """`decider` picks a branch; `name` is the stable decision name (`choose_<name>`)."""

    decider: str
    branches: tuple[CoreBranch, ...]
    name: str = ""
    expr: Expr | None = None
    """For a `match`/`if` that no role can evaluate on shared knowledge: what the decider evaluates."""
    construct: str = "choice"
    """What the user wrote, for messages: `choice`, `decided loop`, `custom loop`, `if`, `match`."""


@dataclass(frozen=True)
class Conditional(CoreStmt):
    """A `match`/`if` before knowledge analysis (decider None) or on shared knowledge (`shared`)."""

    expr: Expr
    branches: tuple[CoreBranch, ...]
    name: str = ""
    shared: bool = False
    construct: str = "if"


@dataclass(frozen=True)
class CountedLoop(CoreStmt):
    """Repeat `body` `count` times; `var` (if any) runs from `start`."""

    count: Expr
    body: CoreSeq
    var: str | None = None
    start: Expr | None = None


@dataclass(frozen=True)
class Rec(CoreStmt):
    """Labelled recursion: falling off the end of `body` leaves it."""

    label: str
    body: CoreSeq


@dataclass(frozen=True)
class Continue(CoreStmt):
    """Jump back to the start of `Rec` `label`."""

    label: str


@dataclass(frozen=True)
class Break(CoreStmt):
    """Only between expansion and loop restructuring; never in a `CheckedProtocol`."""


@dataclass(frozen=True)
class Parallel(CoreStmt):
    """Branches that run concurrently."""

    branches: tuple[CoreSeq, ...]


@dataclass(frozen=True)
class Quorum(CoreStmt):
    """A fan-in to one receiver that completes after `min` of `messages` arrived."""

    min: int
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class LocalAction(CoreStmt):
    """`role: Action(args)`."""

    role: str
    action: str
    args: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class Let(CoreStmt):
    """`let name = expr`, computed by `roles` (those who know all of expr's variables)."""

    name: str
    expr: Expr
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Timeout(CoreStmt):
    """`timeout(d) { body } or { alt }`; waiters are the roles that receive in body."""

    deadline_ms: int
    body: CoreSeq
    alt: CoreSeq


@dataclass(frozen=True)
class Try(CoreStmt):
    """`try { body } compensate { comp }` coordinated by the first role to act in comp."""

    body: CoreSeq
    comp: CoreSeq
    coordinator: str = ""


def children(stmt: CoreStmt) -> tuple[CoreSeq, ...]:
    """The nested sequences of a compound statement."""
    if isinstance(stmt, Choice | Conditional):
        return tuple(b.body for b in stmt.branches)
    if isinstance(stmt, CountedLoop | Rec):
        return (stmt.body,)
    if isinstance(stmt, Parallel):
        return stmt.branches
    if isinstance(stmt, Quorum):
        return (stmt.messages,)
    if isinstance(stmt, Timeout):
        return (stmt.body, stmt.alt)
    if isinstance(stmt, Try):
        return (stmt.body, stmt.comp)
    return ()


def map_bodies(stmt: CoreStmt, visit: Callable[[CoreSeq], CoreSeq]) -> CoreStmt:
    """`stmt` with `visit` applied to each nested statement sequence (a quorum's messages excepted)."""
    if isinstance(stmt, Choice | Conditional):
        return replace(stmt, branches=tuple(replace(b, body=visit(b.body)) for b in stmt.branches))
    if isinstance(stmt, CountedLoop | Rec):
        return replace(stmt, body=visit(stmt.body))
    if isinstance(stmt, Parallel):
        return replace(stmt, branches=tuple(visit(b) for b in stmt.branches))
    if isinstance(stmt, Timeout):
        return replace(stmt, body=visit(stmt.body), alt=visit(stmt.alt))
    if isinstance(stmt, Try):
        return replace(stmt, body=visit(stmt.body), comp=visit(stmt.comp))
    return stmt


def walk(seq: CoreSeq) -> Iterator[CoreStmt]:
    """Every statement, depth first."""
    for stmt in seq:
        yield stmt
        for child in children(stmt):
            yield from walk(child)


def direct_roles(stmt: CoreStmt) -> tuple[str, ...]:
    """The roles a simple statement involves (compound statements: only their own decider)."""
    if isinstance(stmt, Message):
        return (stmt.sender, stmt.receiver)
    if isinstance(stmt, LocalAction):
        return (stmt.role,)
    if isinstance(stmt, Let):
        return stmt.roles
    if isinstance(stmt, Choice):
        return (stmt.decider,)
    return ()


def roles_in(seq: CoreSeq) -> set[str]:
    """Every role that takes part in `seq` (without following `continue`)."""
    found: set[str] = set()
    for stmt in walk(seq):
        found.update(direct_roles(stmt))
    return found


def messages_in(seq: CoreSeq) -> Iterator[Message]:
    """Every message of `seq`, depth first."""
    for stmt in walk(seq):
        if isinstance(stmt, Message):
            yield stmt
