"""The monitor's thread bookkeeping: the `par` threads and their frame stacks, block tokens entered
and unwound, quorum stragglers, late messages and the bindings of received fields.

`MonitorThreads` is the base of `monitor.Monitor` and holds no transition rule: which step comes
next, and whether an event is allowed, is decided in `monitor` alone (the one interpreter).
"""

from __future__ import annotations

from collections.abc import Collection

from aura_choreo.errors import RuntimeProtocolError
from aura_choreo.projection.local_types import (
    Branch,
    Continue,
    Local,
    LocalSeq,
    LocalStep,
    Offer,
    Par,
    Payload,
    Quorum,
    Recv,
    Send,
    Timeout,
    Try,
    iter_steps,
)
from aura_choreo.runtime.monitor_table import MonitorTables, Moves, SeqTable
from aura_choreo.runtime.monitor_types import (
    LOOP,
    REC,
    TIMEOUT,
    TRY,
    Frame,
    Thread,
    TimeoutToken,
    TryToken,
)

__all__ = ["MonitorThreads"]

_MISSING = object()


class MonitorThreads:
    """The threads, frames and block tokens of one monitor (see the module docstring)."""

    role: str
    session: str | None
    env: dict[str, object]
    _root: Thread
    _threads: list[Thread]
    _dirty: bool
    _tables: MonitorTables | None
    """The compiled tables (None: interpret every step)."""
    _moves: Moves | None
    """Table mode: the moves of the head of `_thread`, the one running thread, when that head is a
    send or receive on `_frame` (its top frame, whose table is `_table`); None otherwise. Whatever
    makes the monitor settle again (`_dirty`) sets it to None."""
    _thread: Thread
    _frame: Frame
    _table: SeqTable
    _wrap: int
    """Table mode: the move that ends `_frame`'s sequence when the next round of its counted loop
    goes on in the table (see `MonitorSettle._to_table`); 0 otherwise."""
    _try_entries: dict[str, int]
    armed: list[TimeoutToken]
    tries: list[TryToken]
    discards: list[tuple[str, str]]
    late: set[tuple[str, str]]

    @property
    def root(self) -> Thread:
        """The thread of the top-level sequence (`par` branches are its descendants)."""
        return self._root

    def scopes(self, thread: Thread) -> list[TimeoutToken | TryToken]:
        """The active timeout and try blocks on `thread` (not its parents'), outermost first."""
        return [
            frame.token for frame in thread.stack if frame.token is not None and frame.token.active
        ]

    def take_discard(self, sender: str, label: str) -> bool:
        """Whether a message is a quorum straggler to drop (it is then forgotten: one drop each)."""
        key = (sender, label)
        if key in self.discards:
            self.discards.remove(key)
            return True
        return False

    def owes(self, sender: str, label: str) -> bool:
        """Whether a message is a quorum straggler this role will drop (nothing changes)."""
        return (sender, label) in self.discards

    def mark_late(self, steps: LocalSeq) -> None:
        """The receives of `steps` (a body abandoned by a timeout or compensation) arrive late."""
        for step in iter_steps(steps):
            if isinstance(step, Recv):
                self.late.add((step.from_, step.label))
            elif isinstance(step, Offer):
                self.late.update((step.from_, b.label) for b in step.branches)

    @property
    def drops_pending(self) -> bool:
        """Whether some arriving message may have to be dropped (a straggler or a late one)."""
        return bool(self.discards or self.late)

    def bind(self, payload: Payload, message: object) -> None:
        """Make the named payload fields of `message` known (SPEC §3.6)."""
        env = self.env
        for item in payload:
            name = item.name
            if name is None:
                continue
            value = getattr(message, name, _MISSING)
            if value is _MISSING and type(message) is dict:
                value = message.get(name, _MISSING)
            if value is not _MISSING:
                env[name] = value

    def _reaches(self, thread: Thread, sender: str, label: str, ahead: Collection[str]) -> bool:
        """Whether a later step of `thread` may receive `label` from `sender`, when only messages
        labelled `ahead` from that sender are queued before it (see `Monitor.receivable_later`)."""
        for frame in reversed(thread.stack):  # the innermost frame first, then what follows it
            seq = frame.seq
            found = _scan(seq, frame.pos, sender, label, ahead)
            if found is not None:
                return found
            if frame.kind in (LOOP, REC) and any(_receives(s, sender, label) for s in iter_steps(seq)):
                return True  # another round (or a `continue`) may come back to it
        return False

    def _recv_match(self, thread: Thread, from_: str, label: str) -> Recv | Branch | None:
        head = thread.head
        if isinstance(head, Recv):
            return head if head.from_ == from_ and head.label == label else None
        if isinstance(head, Offer):
            if head.from_ != from_:
                return None
            for branch in head.branches:
                if branch.label == label:
                    return branch
            return None
        if isinstance(head, Quorum):
            for i, recv in enumerate(head.body):
                if i not in thread.quorum_got and recv.from_ == from_ and recv.label == label:
                    return recv
        return None

    def _quorum_receive(self, thread: Thread, step: Quorum, recv: Recv) -> None:
        for i, candidate in enumerate(step.body):
            if candidate is recv and i not in thread.quorum_got:
                thread.quorum_got.add(i)
                break
        if len(thread.quorum_got) >= min(step.min, len(step.body)):
            for i, straggler in enumerate(step.body):
                if i not in thread.quorum_got:
                    self.discards.append((straggler.from_, straggler.label))
            thread.quorum_got = set()
            thread.stack[-1].pos += 1

    def _unwind(self, thread: Thread, frame: Frame) -> None:
        """Pop `thread`'s frames down to and including `frame`, killing par children above it."""
        self._kill_children(thread)
        while thread.stack:
            top = thread.stack.pop()
            if top.token is not None:
                top.token.active = False
                if isinstance(top.token, TryToken) and top.token in self.tries:
                    self.tries.remove(top.token)
            if top is frame:
                return
        raise RuntimeProtocolError("monitor frame not found while unwinding", role=self.role)

    def _kill_children(self, thread: Thread) -> None:
        for child in thread.children:
            self._kill_children(child)
            for frame in child.stack:
                if frame.token is not None:
                    frame.token.active = False
            if child in self._threads:
                self._threads.remove(child)
        thread.children = []
        thread.waiting = 0

    def _reactivate(self, thread: Thread) -> None:
        thread.head = None
        thread.quorum_got = set()
        if thread not in self._threads:
            self._threads.append(thread)
        self._moves = None
        self._dirty = True

    def _start_par(self, thread: Thread, step: Par) -> bool:
        """Spawn one thread per branch; True if the parent must wait for them."""
        children = [Thread(branch, parent=thread) for branch in step.branches if branch]
        if not children:
            return False
        thread.children = children
        thread.waiting = len(children)
        thread.head = None
        self._threads.extend(children)
        return True

    def _continue(self, thread: Thread, label: str) -> None:
        stack = thread.stack
        while stack:
            frame = stack[-1]
            if frame.kind == REC and frame.label == label:
                frame.pos = 0
                return
            stack.pop()
            if frame.token is not None:
                frame.token.active = False
        raise RuntimeProtocolError(
            f"`continue {label}` outside `rec {label}`", role=self.role, session=self.session
        )

    def _enter_timeout(self, thread: Thread, step: Timeout) -> None:
        if not step.waiter:
            thread.stack.append(Frame(step.body))
            return
        frame = Frame(step.body, TIMEOUT)
        token = TimeoutToken(step, _frame=frame, _thread=thread)
        frame.token = token
        thread.stack.append(frame)
        self.armed.append(token)

    def _enter_try(self, thread: Thread, step: Try) -> None:
        where = f"{step.span.line}:{step.span.column}"
        count = self._try_entries.get(where, 0)
        self._try_entries[where] = count + 1
        frame = Frame(step.body, TRY)
        token = TryToken(step, f"{where}#{count}", _frame=frame, _thread=thread)
        frame.token = token
        thread.stack.append(frame)
        self.tries.append(token)


def _receives(step: LocalStep, sender: str, label: str) -> bool:
    if isinstance(step, Recv):
        return step.from_ == sender and step.label == label
    if isinstance(step, Offer):
        return step.from_ == sender and any(b.label == label for b in step.branches)
    return False


def _scan(seq: LocalSeq, pos: int, sender: str, label: str, ahead: Collection[str]) -> bool | None:
    """Walk `seq` from `pos`: True when a receive of (`sender`, `label`) comes before any receive from
    `sender` that no message queued ahead can satisfy (the channel is FIFO), False when such a
    receive comes first, None when the sequence ends (or `continue`s, or a block on the way may be
    left without receiving it) without deciding."""
    for i in range(pos, len(seq)):
        step = seq[i]
        kind = type(step)
        if kind is Recv:
            assert isinstance(step, Recv)
            if step.from_ == sender:
                if step.label == label:
                    return True
                if step.label not in ahead:
                    return False
        elif kind is Send or kind is Local:
            continue
        elif kind is Continue:
            return None  # the enclosing `rec` frame decides
        else:
            if kind is Offer:
                assert isinstance(step, Offer)
                if step.from_ == sender and not any(
                    b.label == label or b.label in ahead for b in step.branches
                ):
                    return False  # the label deciding the offer comes first on the channel
            # A compound step (a choice, a loop, a nested par, a block): which path is taken is not
            # known yet, so any receive of the message from here on may be the one; and a path that
            # receives none may leave the block or `continue`: then the enclosing frames decide.
            if any(_receives(s, sender, label) for s in iter_steps(seq[i:])):
                return True
            return None
    return None
