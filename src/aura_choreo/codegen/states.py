"""The states of a role's typestate API: one per position in its local type where the role acts.

A position is a continuation: a stack of frames (a sequence and the index of its next step), like the
monitor's, but computed at compile time. Silent steps that need no call from the role's code (`rec`,
`continue`, `let`) are crossed when a position is normalised, so each state's head is a step the
role's code performs (send, receive, choose, offer, if, counted loop, par, quorum, local action,
timeout, try), the end of the role, or the end of a block (a par branch, a timeout body or alt, a try
body or compensation) whose code is a callback of its own.

States are numbered in the order the generator first asks for them, so the same local type always
gives the same numbering (deterministic output).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from aura_choreo.errors import AuraChoreoError
from aura_choreo.projection.local_types import Continue, Local, LocalSeq, LocalStep, LocalType, Rec

Path = tuple[int, ...]
"""Where a step sits: top-level index, then (child sequence, index) pairs (`child_sequences` order)."""


class CodegenError(AuraChoreoError):
    """A local type the generator cannot express as a typestate API."""


@dataclass(frozen=True)
class Frame:
    """One sequence being run: `kind` is `seq`, `loop` (repeat: back to the loop's head), `rec`
    (label `key`), or `block` (the end of a callback-run block `key`)."""

    seq: LocalSeq = field(compare=False, repr=False)
    path: Path
    """The path of `seq` itself (empty for the top level)."""
    pos: int
    kind: str = "seq"
    key: str = ""


Cont = tuple[Frame, ...]


@dataclass
class State:
    """A state class to generate: `head` is the step it performs (None at an end)."""

    number: int
    cont: Cont
    head: LocalStep | None
    kind: str
    """`step`, `end` (the role's end) or `block_end` (the end of a block run as a callback)."""
    block: str = ""
    prefix: str = ""

    @property
    def name(self) -> str:
        return "End" if self.kind == "end" else f"{self.prefix}S{self.number}"

    @property
    def path(self) -> Path:
        top = self.cont[-1]
        return (*top.path, top.pos)


_SILENT_LIMIT = 10_000


class StateMachine:
    """Positions of one local type, numbered on first request."""

    def __init__(self, local_type: LocalType, prefix: str = "") -> None:
        self.local_type = local_type
        self.prefix = prefix
        self.states: list[State] = []
        self._by_key: dict[tuple[object, ...], State] = {}

    def start(self) -> State:
        """The state the role starts in."""
        return self.state((Frame(self.local_type.steps, (), 0),))

    def block_start(self, seq: LocalSeq, seq_path: Path, block: str) -> State:
        """The first state of a block run as a callback (its own stack: it ends at its end state)."""
        return self.state((Frame(seq, seq_path, 0, "block", block),))

    def block_end(self, block: str) -> State:
        """The end state of a block."""
        return self.state((Frame((), (), 0, "block", block),))

    def state(self, cont: Cont) -> State:
        """The state at `cont` once silent steps are crossed."""
        cont = self._normalise(cont)
        if not cont:
            key: tuple[object, ...] = ("end",)
            head, kind, block = None, "end", ""
        else:
            top = cont[-1]
            if top.pos >= len(top.seq):
                key = ("block_end", top.key)
                head, kind, block = None, "block_end", top.key
            else:
                key = tuple((f.path, f.pos, f.kind, f.key) for f in cont)
                head, kind, block = top.seq[top.pos], "step", ""
        found = self._by_key.get(key)
        if found is None:
            found = State(len(self.states), cont, head, kind, block, self.prefix)
            self._by_key[key] = found
            self.states.append(found)
        return found

    @staticmethod
    def after(cont: Cont) -> Cont:
        """The continuation once the head step of `cont` is done."""
        top = cont[-1]
        return (*cont[:-1], replace(top, pos=top.pos + 1))

    @staticmethod
    def inside(cont: Cont, child: int, seq: LocalSeq, kind: str = "seq", key: str = "") -> Cont:
        """Enter child sequence `child` of the head step; a `loop` frame keeps the head in place (its
        end returns to the head), every other frame continues after the head when it ends."""
        top = cont[-1]
        path = (*top.path, top.pos, child)
        outer = cont if kind == "loop" else StateMachine.after(cont)
        return (*outer, Frame(seq, path, 0, kind, key))

    def _normalise(self, cont: Cont) -> Cont:
        for _ in range(_SILENT_LIMIT):
            if not cont:
                return cont
            top = cont[-1]
            if top.pos >= len(top.seq):
                if top.kind == "block":
                    return cont
                cont = cont[:-1]  # a `loop` frame ends at its head; the others were advanced past
                continue
            step = top.seq[top.pos]
            if isinstance(step, Rec):
                cont = self.inside(cont, 0, step.body, "rec", step.label)
            elif isinstance(step, Continue):
                cont = _jump(cont, step.label)
            elif isinstance(step, Local) and step.var is not None:
                cont = self.after(cont)  # `let`: the monitor binds it; nothing for the code to do
            else:
                return cont
        raise CodegenError(f"role {self.local_type.role}: a recursion that never acts")


def _jump(cont: Cont, label: str) -> Cont:
    for i in range(len(cont) - 1, -1, -1):
        frame = cont[i]
        if frame.kind == "rec" and frame.key == label:
            return (*cont[:i], replace(frame, pos=0))
        if frame.kind == "block":
            break
    raise CodegenError(
        f"`continue {label}` leaves a par, timeout or try block: the typestate API runs each block as"
        " a callback, which cannot jump out of it"
    )
