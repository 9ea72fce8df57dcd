"""The monitor's data: frame kinds, the tokens of timeout and try blocks, the frames and threads a
local type runs as, and the words for a step. No behaviour beyond construction: the transitions are
`monitor.Monitor`'s, the thread bookkeeping `monitor_threads`'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aura_choreo.errors import RuntimeProtocolError
from aura_choreo.projection.local_types import (
    Branch,
    Choose,
    If,
    Local,
    LocalSeq,
    LocalStep,
    Offer,
    Quorum,
    Recv,
    Send,
    Timeout,
    Try,
)

SEQ, LOOP, REC, TIMEOUT, TRY = range(5)
"""Frame kinds: a plain sequence, a counted loop, a `rec` body, a timeout body, a try body."""


class EvaluationFailed(RuntimeProtocolError):
    """An expression the local type needs (an `if`, a loop count) could not be evaluated."""


@dataclass(eq=False)
class TimeoutToken:
    """An armed `timeout` block of a waiter: the endpoint starts a timer for `deadline_ms`."""

    step: Timeout
    active: bool = True
    deadline: float | None = None
    """Set by the endpoint: the loop time at which the block expires."""
    _frame: Frame | None = field(default=None, repr=False)
    _thread: Thread | None = field(default=None, repr=False)


@dataclass(eq=False)
class TryToken:
    """A `try` block entered by this role; `key` identifies the block across roles in one session."""

    step: Try
    key: str
    active: bool = True
    body_done: bool = False
    claimed: bool = False
    """Whether the role's code (runner or `ep.saga()`) has taken charge of this block."""
    _frame: Frame | None = field(default=None, repr=False)
    _thread: Thread | None = field(default=None, repr=False)


class Frame:
    __slots__ = ("index", "kind", "label", "pos", "remaining", "seq", "token", "var")

    def __init__(self, seq: LocalSeq, kind: int = SEQ) -> None:
        self.seq = seq
        self.pos = 0
        self.kind = kind
        self.remaining = 0
        self.index = 0
        self.var: str | None = None
        self.label = ""
        self.token: TimeoutToken | TryToken | None = None


class Thread:
    """One running sequence of a local type (the top level, or a `par` branch); opaque to callers."""

    __slots__ = ("children", "head", "parent", "quorum_got", "stack", "waiting")

    def __init__(self, seq: LocalSeq, parent: Thread | None = None) -> None:
        self.stack: list[Frame] = [Frame(seq)]
        self.parent = parent
        self.children: list[Thread] = []
        self.waiting = 0
        self.head: LocalStep | TryToken | None = None
        self.quorum_got: set[int] = set()


def describe(step: LocalStep | TryToken | None) -> str:
    """A short human description of what a step expects (`send PrepareRequest to Participant`)."""
    if step is None:
        return "end"
    if isinstance(step, TryToken):
        return "the outcome of the try block"
    if isinstance(step, Send):
        return f"send {step.label} to {step.to}"
    if isinstance(step, Recv):
        return f"receive {step.label} from {step.from_}"
    if isinstance(step, Choose):
        return f"choose one of {', '.join(b.label for b in step.branches)}"
    if isinstance(step, Offer):
        return f"receive one of {', '.join(b.label for b in step.branches)} from {step.from_}"
    if isinstance(step, Quorum):
        return "receive one of " + ", ".join(f"{r.label} from {r.from_}" for r in step.body)
    if isinstance(step, Local):
        return f"local {step.action}"
    return type(step).__name__.lower()


BranchResolver = Callable[[If], Branch | None]
"""Picks the branch of an `if`/`match` whose condition cannot be evaluated (None: no branch)."""


def thread_depth(thread: Thread) -> int:
    """Sort key keeping threads in a stable parent-before-child order."""
    depth = 0
    parent = thread.parent
    while parent is not None:
        depth += 1
        parent = parent.parent
    return depth
