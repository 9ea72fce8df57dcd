"""The monitor's silent steps: crossing `if`s on shared knowledge, counted loops, `rec`/`continue`,
local actions and `let`s, entering timeout and try blocks and starting `par` branches, lazily, right
before the next event (so the fields of the message just received are bound when an `if` after it is
evaluated).

`MonitorSettle` is the base of `monitor.Monitor`: the events (`on_send`, `on_receive`, ...) are
there, the rules that take a thread from one observable step to the next are here. Together they are
the one interpreter of local types; nothing else walks one.
"""

from __future__ import annotations

from aura_choreo.errors import RuntimeProtocolError
from aura_choreo.projection.local_types import (
    Branch,
    Choose,
    Continue,
    If,
    Local,
    LocalStep,
    Loop,
    Offer,
    Par,
    Quorum,
    Rec,
    Recv,
    Send,
    Timeout,
    Try,
)
from aura_choreo.runtime.expressions import ExpressionError, evaluate
from aura_choreo.runtime.monitor_eval import decide_branch, evaluate_in
from aura_choreo.runtime.monitor_threads import MonitorThreads
from aura_choreo.runtime.monitor_types import (
    LOOP,
    REC,
    TIMEOUT,
    TRY,
    BranchResolver,
    EvaluationFailed,
    Frame,
    Thread,
    TryToken,
    thread_depth,
)

__all__ = ["MonitorSettle"]


class MonitorSettle(MonitorThreads):
    """Settling threads onto their next observable step (see the module docstring)."""

    resolve_if: BranchResolver | None
    observe_locals: bool
    step_count: int
    settles: int

    def _settle_all(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.settles += 1
        threads = self._threads
        if len(threads) == 1 and threads[0].parent is None:
            # The common case (no par active): settle the one thread, no bookkeeping.
            thread = threads[0]
            if thread.head is None and thread.waiting == 0 and thread.stack:
                self._settle(thread)
            if len(self._threads) == 1:
                if not thread.stack and not thread.waiting:
                    self._threads = []
                else:
                    self._to_table(thread)
                return
            # A par started: settle its branches below.
        i = 0
        # Settling may spawn (par) or finish threads, so the list is walked by index.
        while i < len(self._threads):
            thread = self._threads[i]
            if thread.head is None and thread.waiting == 0 and thread.stack:
                self._settle(thread)
            i += 1
        self._threads = [t for t in self._threads if t.stack or t.waiting]
        self._threads.sort(key=thread_depth)
        if len(self._threads) == 1 and self._threads[0].parent is None:
            self._to_table(self._threads[0])

    def _to_table(self, thread: Thread) -> None:
        """Enter table mode (see `_moves`) when the one running thread stands on a send or receive."""
        tables = self._tables
        head = thread.head
        if tables is not None and (type(head) is Send or type(head) is Recv):
            frame = thread.stack[-1]
            table = tables.of(frame.seq)
            self._moves = table[frame.pos]
            self._table = table
            self._frame = frame
            self._thread = thread
            # The end of a counted loop's body that starts with a send or receive: the next round
            # stays in the table (`_go`); 0 (never the end) otherwise.
            wraps = frame.kind == LOOP and frame.var is None and table[0] is not None
            self._wrap = ~len(frame.seq) if wraps else 0

    def _go(self, to: int) -> None:
        """Take a move of the table: `to` is the next position, or `~position` (see `monitor_table`)."""
        frame = self._frame
        if to >= 0:  # the next send or receive, straight on
            frame.pos = to
            self._moves = self._table[to]
            self._thread.head = frame.seq[to]
            return
        if to == self._wrap and frame.remaining > 0:
            frame.remaining -= 1  # the next round of a counted loop (the index needs no binding)
            frame.index += 1
            frame.pos = 0
            self._moves = self._table[0]
            self._thread.head = frame.seq[0]
            return
        frame.pos = ~to
        self._thread.head = None
        self._moves = None
        self._dirty = True

    def _settle(self, thread: Thread) -> None:
        """Cross silent steps until `thread` reaches an observable step, a par, or its end."""
        stack = thread.stack
        while stack:
            frame = stack[-1]
            if frame.pos >= len(frame.seq):
                if not self._finish_frame(thread, frame):
                    return
                continue
            step = frame.seq[frame.pos]
            kind = type(step)
            if kind is Send or kind is Recv or kind is Choose or kind is Offer or kind is Quorum:
                thread.head = step
                return
            if kind is Local and self.observe_locals:
                thread.head = step
                return
            frame.pos += 1
            if kind is Par:
                assert isinstance(step, Par)
                if self._start_par(thread, step):
                    return
            else:
                self._enter(thread, step)
        self._thread_finished(thread)

    def _finish_frame(self, thread: Thread, frame: Frame) -> bool:
        """Leave (or repeat) a finished frame; False if the thread must stop here."""
        if frame.kind == LOOP and frame.remaining > 0:
            frame.remaining -= 1
            frame.index += 1
            frame.pos = 0
            if frame.var is not None:
                self.env[frame.var] = frame.index
            return True
        if frame.kind == TRY and isinstance(frame.token, TryToken):
            frame.token.body_done = True
            thread.head = frame.token
            return False
        if frame.kind == TIMEOUT and frame.token is not None:
            frame.token.active = False
        thread.stack.pop()
        return True

    def _enter(self, thread: Thread, step: LocalStep) -> None:
        if isinstance(step, If):
            branch = self.decide_if(step)
            if branch is not None and branch.body:
                thread.stack.append(Frame(branch.body))
        elif isinstance(step, Loop):
            self._enter_loop(thread, step)
        elif isinstance(step, Rec):
            frame = Frame(step.body, REC)
            frame.label = step.label
            thread.stack.append(frame)
        elif isinstance(step, Continue):
            self._continue(thread, step.label)
        elif isinstance(step, Local):
            if step.var is not None and step.expr is not None:
                try:
                    self.env[step.var] = evaluate(step.expr, self.env)
                except ExpressionError:
                    pass  # the behaviour supplies it (SPEC §3.6): not every role can compute a let
        elif isinstance(step, Timeout):
            self._enter_timeout(thread, step)
        elif isinstance(step, Try):
            self._enter_try(thread, step)
        else:
            raise RuntimeProtocolError(
                f"unsupported local step {type(step).__name__}", role=self.role, session=self.session
            )

    def evaluate(self, expr: object, what: str) -> object:
        """`expr`'s value from what this role knows; `EvaluationFailed` (naming `what`) if unknown."""
        return evaluate_in(expr, self.env, what, self.role, self.session, self.step_count)

    def decide_if(self, step: If) -> Branch | None:
        """The branch of `step` this role takes (None: none): the one branch-decision rule."""
        return decide_branch(step, self.env, self.resolve_if, self.role, self.session, self.step_count)

    def _enter_loop(self, thread: Thread, step: Loop) -> None:
        count = self.evaluate(step.count, "a loop count")
        start = self.evaluate(step.start, "a loop start") if step.start is not None else 0
        if not isinstance(count, int) or not isinstance(start, int):
            raise EvaluationFailed(
                f"loop count must be an integer, got {count!r}", role=self.role, session=self.session
            )
        if count <= 0 or not step.body:
            return
        frame = Frame(step.body, LOOP)
        frame.remaining = count - 1
        frame.index = start
        frame.var = step.var
        if step.var is not None:
            self.env[step.var] = start
        thread.stack.append(frame)

    def _thread_finished(self, thread: Thread) -> None:
        thread.head = None
        parent = thread.parent
        if parent is None:
            return
        if thread in parent.children:
            parent.children.remove(thread)
        parent.waiting -= 1
        if parent.waiting == 0:
            # Resume the parent after its par: it settles later in this same pass (it is in the list).
            parent.head = None
            if parent not in self._threads:
                self._threads.append(parent)
            self._settle(parent)
