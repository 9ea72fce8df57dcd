"""The sans-I/O monitor: checks one endpoint's sends, receives and choices against its local type.

No asyncio, no clock, no transport: events go in (`on_send`, `on_receive`, `on_choose`,
`on_timeout`, `on_try_outcome`), the matched step comes out, or `ProtocolViolation` is raised naming
role, session, step number, what was expected and what happened. The live endpoint, the simulator and
trace replay all drive this one machine.

Inside, the local type runs as a set of threads (one per active `par` branch), each a stack of frames
(sequence, loop, recursion, timeout body, try body). Silent steps (`if` on shared knowledge, counted
loops, `rec`/`continue`, local actions and `let`) are crossed lazily, right before the next event, so
the fields of the message just received are bound when an `if` after it is evaluated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aura_choreo.errors import ProtocolViolation, RuntimeProtocolError
from aura_choreo.projection.local_types import (
    Branch,
    Choose,
    Continue,
    If,
    Local,
    LocalSeq,
    LocalStep,
    LocalType,
    Loop,
    Offer,
    Par,
    Payload,
    Quorum,
    Rec,
    Recv,
    Send,
    Timeout,
    Try,
    iter_steps,
)
from aura_choreo.runtime.branching import NoMatchingArm, select_branch
from aura_choreo.runtime.expressions import ExpressionError, evaluate
from aura_choreo.semantics.expressions import expr_text

_SEQ, _LOOP, _REC, _TIMEOUT, _TRY = range(5)
_MISSING = object()


class EvaluationFailed(RuntimeProtocolError):
    """An expression the local type needs (an `if`, a loop count) could not be evaluated."""


@dataclass(eq=False)
class TimeoutToken:
    """An armed `timeout` block of a waiter: the endpoint starts a timer for `deadline_ms`."""

    step: Timeout
    active: bool = True
    deadline: float | None = None
    """Set by the endpoint: the loop time at which the block expires."""
    _frame: _Frame | None = field(default=None, repr=False)
    _thread: _Thread | None = field(default=None, repr=False)


@dataclass(eq=False)
class TryToken:
    """A `try` block entered by this role; `key` identifies the block across roles in one session."""

    step: Try
    key: str
    active: bool = True
    body_done: bool = False
    claimed: bool = False
    """Whether the role's code (runner or `ep.saga()`) has taken charge of this block."""
    _frame: _Frame | None = field(default=None, repr=False)
    _thread: _Thread | None = field(default=None, repr=False)


class _Frame:
    __slots__ = ("index", "kind", "label", "pos", "remaining", "seq", "token", "var")

    def __init__(self, seq: LocalSeq, kind: int = _SEQ) -> None:
        self.seq = seq
        self.pos = 0
        self.kind = kind
        self.remaining = 0
        self.index = 0
        self.var: str | None = None
        self.label = ""
        self.token: TimeoutToken | TryToken | None = None


class _Thread:
    __slots__ = ("children", "head", "parent", "quorum_got", "stack", "waiting")

    def __init__(self, seq: LocalSeq, parent: _Thread | None = None) -> None:
        self.stack: list[_Frame] = [_Frame(seq)]
        self.parent = parent
        self.children: list[_Thread] = []
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


class Monitor:
    """Checks one role's actions against its local type; `env` holds the role's known values.

    `resolve_if` decides the `if`/`match` steps whose condition cannot be evaluated from `env` (trace
    replay has labels but no payload values); without it such a step raises `EvaluationFailed`.
    """

    def __init__(
        self,
        local_type: LocalType,
        *,
        session: str | None = None,
        env: dict[str, object] | None = None,
        resolve_if: BranchResolver | None = None,
    ) -> None:
        self.local_type = local_type
        self.resolve_if = resolve_if
        self.role = local_type.role
        self.session = session
        self.env: dict[str, object] = env if env is not None else {}
        self.step_count = 0
        self._root = _Thread(local_type.steps)
        self._threads: list[_Thread] = [self._root]
        self._dirty = True
        self._try_entries: dict[str, int] = {}
        self.armed: list[TimeoutToken] = []
        """Timeout blocks entered since the endpoint last took them (`take_armed`)."""
        self.tries: list[TryToken] = []
        """Try blocks entered and not yet settled, oldest first."""
        self.discards: list[tuple[str, str]] = []
        """(sender, label) of messages to drop when they arrive (quorum stragglers)."""
        self.late: set[tuple[str, str]] = set()
        """(sender, label) of receives abandoned by an expired timeout: such messages are late."""
        self.observe_locals = False
        """Whether local actions and `let`s are steps the caller performs (`on_local`), as the
        behaviour-driven runner does; otherwise they are crossed silently."""

    # ------------------------------------------------------------------ queries

    @property
    def done(self) -> bool:
        """Whether the local type has run to its end."""
        self._settle_all()
        return not self._threads

    def next_steps(self) -> list[LocalStep | TryToken]:
        """What may happen next: one head per active thread (empty at the end)."""
        self._settle_all()
        return [t.head for t in self._threads if t.head is not None]

    def expected(self) -> str:
        """What may happen next, in words."""
        heads = self.next_steps()
        return " or ".join(describe(h) for h in heads) if heads else "end"

    def accepts_receive(self, from_: str, label: str) -> bool:
        """Whether a message `label` from `from_` would be accepted now (the state is not changed)."""
        self._settle_all()
        for thread in self._threads:
            if self._recv_match(thread, from_, label) is not None:
                return True
        return False

    def expects_from(self, from_: str) -> bool:
        """Whether some next step receives from `from_`."""
        if self._dirty:
            self._settle_all()
        threads = self._threads
        if len(threads) == 1:
            head = threads[0].head
            if type(head) is Recv:
                return head.from_ == from_
        for head in self.next_steps():
            if isinstance(head, Recv | Offer) and head.from_ == from_:
                return True
            if isinstance(head, Quorum) and any(r.from_ == from_ for r in head.body):
                return True
        return False

    # ------------------------------------------------------------------ threads (for the runner)

    @property
    def root(self) -> Thread:
        """The thread of the top-level sequence (`par` branches are its descendants)."""
        return self._root

    def head_of(self, thread: Thread) -> LocalStep | TryToken | None:
        """The next step of `thread`; None when it has ended or waits for its `par` branches."""
        self._settle_all()
        return thread.head if thread in self._threads else None

    def branches_of(self, thread: Thread) -> list[Thread]:
        """The running `par` branches `thread` waits for (empty when it waits for none)."""
        self._settle_all()
        return list(thread.children) if thread.waiting else []

    def scopes(self, thread: Thread) -> list[TimeoutToken | TryToken]:
        """The active timeout and try blocks on `thread` (not its parents'), outermost first."""
        return [
            frame.token for frame in thread.stack if frame.token is not None and frame.token.active
        ]

    def quorum_senders(self, thread: Thread) -> tuple[str, ...]:
        """The senders a quorum at the head of `thread` still waits for (in declaration order)."""
        head = self.head_of(thread)
        if not isinstance(head, Quorum):
            return ()
        return tuple(r.from_ for i, r in enumerate(head.body) if i not in thread.quorum_got)

    # ------------------------------------------------------------------ dropped and late messages

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

    def is_late(self, sender: str, label: str) -> bool:
        """Whether a message belongs to a block this role has left (and is not expected again)."""
        return (sender, label) in self.late and not self.accepts_receive(sender, label)

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

    def take_armed(self) -> list[TimeoutToken]:
        """The timeout blocks entered since the last call (the endpoint arms a timer for each)."""
        self._settle_all()
        armed, self.armed = self.armed, []
        return armed

    # ------------------------------------------------------------------ events

    def on_send(self, to: str, label: str, message: object = None) -> Send:
        """Record a send of `label` to `to`; returns the matched step."""
        thread, head = self.match_send(to, label)
        self.accept_send(thread, head, message)
        return head

    def match_send(self, to: str, label: str) -> tuple[Thread, Send]:
        """The step a send of `label` to `to` would take, and its thread; nothing changes (a
        `ProtocolViolation` if no next step sends it). `accept_send` then records it."""
        if self._dirty:
            self._settle_all()
        for thread in self._threads:
            head = thread.head
            if type(head) is Send and head.to == to and head.label == label:
                return thread, head
        raise self._violation(f"send {label} to {to}")

    def accept_send(self, thread: Thread, step: Send, message: object = None) -> None:
        """Record the send `match_send` found (the caller has checked and encoded its payload)."""
        if thread.head is not step:
            raise self._violation(f"send {step.label} to {step.to}")
        self.step_count += 1
        if message is not None and step.payload:
            self.bind(step.payload, message)
        self._advance(thread)

    def on_receive(self, from_: str, label: str, message: object = None) -> Recv | Branch:
        """Record the receipt of `label` from `from_`; returns the matched `Recv` (or offer `Branch`)."""
        if self._dirty:
            self._settle_all()
        for thread in self._threads:
            head = thread.head
            if type(head) is Recv:
                if head.from_ == from_ and head.label == label:
                    self.step_count += 1
                    if message is not None and head.payload:
                        self.bind(head.payload, message)
                    self._advance(thread)
                    return head
                continue
            matched = self._recv_match(thread, from_, label)
            if matched is None:
                continue
            if isinstance(head, Offer) and isinstance(matched, Branch):
                thread.stack[-1].pos += 1
                thread.stack.append(_Frame(matched.body))
                self._after_event(thread, matched.payload, message)
                return matched
            if isinstance(head, Quorum) and isinstance(matched, Recv):
                self._quorum_receive(thread, head, matched)
                self._after_event(thread, matched.payload, message)
                return matched
        raise self._violation(f"receive {label} from {from_}")

    def on_choose(self, label: str) -> Branch:
        """Record this role's choice of branch `label`; returns the branch."""
        self._settle_all()
        for thread in self._threads:
            head = thread.head
            if isinstance(head, Choose):
                for branch in head.branches:
                    if branch.label == label:
                        self._check_choice(head, branch)
                        thread.stack[-1].pos += 1
                        thread.stack.append(_Frame(branch.body))
                        self._after_event(thread, (), None)
                        return branch
        raise self._violation(f"choose {label}")

    def _check_choice(self, step: Choose, branch: Branch) -> None:
        """A choice must take a branch whose guard holds and, when its expression can be evaluated
        from what the role knows, the branch that expression selects (hand-written roles included)."""
        env = self.env
        if branch.guard is not None:
            try:
                holds = evaluate(branch.guard, env)
            except ExpressionError:
                holds = True  # a value this role's behaviour supplies: it cannot be checked here
            if not holds:
                guard = expr_text(branch.guard)
                raise self._violation(f"choose {branch.label}, whose guard `{guard}` is false")
        if step.expr is None:
            return
        try:
            value = evaluate(step.expr, env)
        except ExpressionError:
            return
        try:
            wanted = select_branch(value, step.branches)
        except NoMatchingArm as exc:
            raise exc.at(self.role, self.session, f"step {self.step_count + 1}") from None
        if wanted is not None and wanted is not branch:
            selects = f"`{expr_text(step.expr)}` is {value!r}, which selects {wanted.label}"
            raise self._violation(f"choose {branch.label}, but {selects}")

    def on_local(self, step: Local) -> None:
        """Record that this role performed local step `step` (with `observe_locals` only)."""
        self._settle_all()
        for thread in self._threads:
            if thread.head is step:
                self._advance(thread)  # not counted: step numbers name communication steps
                return
        raise self._violation(f"local {step.action}")

    def on_timeout(self, token: TimeoutToken) -> bool:
        """The deadline of `token` passed: abandon its body and run its alt. False if already done."""
        if not token.active or token._thread is None or token._frame is None:
            return False
        thread = token._thread
        self._unwind(thread, token._frame)
        thread.stack.append(_Frame(token.step.alt))
        self.mark_late(token.step.body)
        self._reactivate(thread)
        return True

    def on_try_outcome(self, token: TryToken, committed: bool) -> None:
        """The coordinator's verdict on a try block: commit (leave it) or compensate (run `comp`)."""
        if not token.active or token._thread is None or token._frame is None:
            raise self._violation("the outcome of a try block that is not active")
        if committed and not token.body_done:
            raise self._violation("commit of a try block whose body is not done")
        thread = token._thread
        self._unwind(thread, token._frame)
        if not committed:
            thread.stack.append(_Frame(token.step.comp))
        self._reactivate(thread)

    # ------------------------------------------------------------------ internals

    def _advance(self, thread: _Thread) -> None:
        """Step past a send/receive head; the next step is found at once when it is a plain one."""
        frame = thread.stack[-1]
        pos = frame.pos = frame.pos + 1
        seq = frame.seq
        if pos >= len(seq) and frame.kind == _LOOP and frame.remaining > 0 and frame.var is None:
            frame.remaining -= 1  # the next round of a counted loop (the index needs no binding)
            frame.index += 1
            pos = frame.pos = 0
        if pos < len(seq):
            step = seq[pos]
            kind = type(step)
            if kind is Send or kind is Recv:
                thread.head = step  # straight-line code: no settling needed
                return
        thread.head = None
        self._dirty = True

    def _violation(self, got: str) -> ProtocolViolation:
        return ProtocolViolation(
            self.role, self.expected(), got, session=self.session, step=f"step {self.step_count + 1}"
        )

    def _after_event(self, thread: _Thread, payload: Payload, message: object) -> None:
        self.step_count += 1
        if message is not None and payload:
            self.bind(payload, message)
        thread.head = None
        self._dirty = True

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

    def _recv_match(self, thread: _Thread, from_: str, label: str) -> Recv | Branch | None:
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

    def _quorum_receive(self, thread: _Thread, step: Quorum, recv: Recv) -> None:
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

    def _unwind(self, thread: _Thread, frame: _Frame) -> None:
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

    def _kill_children(self, thread: _Thread) -> None:
        for child in thread.children:
            self._kill_children(child)
            for frame in child.stack:
                if frame.token is not None:
                    frame.token.active = False
            if child in self._threads:
                self._threads.remove(child)
        thread.children = []
        thread.waiting = 0

    def _reactivate(self, thread: _Thread) -> None:
        thread.head = None
        thread.quorum_got = set()
        if thread not in self._threads:
            self._threads.append(thread)
        self._dirty = True

    def _settle_all(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        threads = self._threads
        if len(threads) == 1 and threads[0].parent is None:
            # The common case (no par active): settle the one thread, no bookkeeping.
            thread = threads[0]
            if thread.head is None and thread.waiting == 0 and thread.stack:
                self._settle(thread)
            if len(self._threads) == 1:
                if not thread.stack and not thread.waiting:
                    self._threads = []
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
        self._threads.sort(key=_thread_depth)

    def _settle(self, thread: _Thread) -> None:
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

    def _finish_frame(self, thread: _Thread, frame: _Frame) -> bool:
        """Leave (or repeat) a finished frame; False if the thread must stop here."""
        if frame.kind == _LOOP and frame.remaining > 0:
            frame.remaining -= 1
            frame.index += 1
            frame.pos = 0
            if frame.var is not None:
                self.env[frame.var] = frame.index
            return True
        if frame.kind == _TRY and isinstance(frame.token, TryToken):
            frame.token.body_done = True
            thread.head = frame.token
            return False
        if frame.kind == _TIMEOUT and frame.token is not None:
            frame.token.active = False
        thread.stack.pop()
        return True

    def _enter(self, thread: _Thread, step: LocalStep) -> None:
        if isinstance(step, If):
            branch = self._decide_if(step)
            if branch is not None and branch.body:
                thread.stack.append(_Frame(branch.body))
        elif isinstance(step, Loop):
            self._enter_loop(thread, step)
        elif isinstance(step, Rec):
            frame = _Frame(step.body, _REC)
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

    def _evaluate(self, expr: object, what: str) -> object:
        try:
            return evaluate(expr, self.env)  # type: ignore[arg-type]
        except ExpressionError as exc:
            raise EvaluationFailed(
                f"cannot evaluate {what}: {exc}",
                role=self.role,
                session=self.session,
                step=f"step {self.step_count + 1}",
            ) from None

    def _decide_if(self, step: If) -> Branch | None:
        try:
            value = self._evaluate(step.expr, "the condition of an if/match")
        except EvaluationFailed:
            if self.resolve_if is None:
                raise
            return self.resolve_if(step)
        try:
            return select_branch(value, step.branches, step.patterns)
        except NoMatchingArm as exc:
            raise exc.at(self.role, self.session, f"step {self.step_count + 1}") from None

    def _enter_loop(self, thread: _Thread, step: Loop) -> None:
        count = self._evaluate(step.count, "a loop count")
        start = self._evaluate(step.start, "a loop start") if step.start is not None else 0
        if not isinstance(count, int) or not isinstance(start, int):
            raise EvaluationFailed(
                f"loop count must be an integer, got {count!r}", role=self.role, session=self.session
            )
        if count <= 0 or not step.body:
            return
        frame = _Frame(step.body, _LOOP)
        frame.remaining = count - 1
        frame.index = start
        frame.var = step.var
        if step.var is not None:
            self.env[step.var] = start
        thread.stack.append(frame)

    def _continue(self, thread: _Thread, label: str) -> None:
        stack = thread.stack
        while stack:
            frame = stack[-1]
            if frame.kind == _REC and frame.label == label:
                frame.pos = 0
                return
            stack.pop()
            if frame.token is not None:
                frame.token.active = False
        raise RuntimeProtocolError(
            f"`continue {label}` outside `rec {label}`", role=self.role, session=self.session
        )

    def _enter_timeout(self, thread: _Thread, step: Timeout) -> None:
        if not step.waiter:
            thread.stack.append(_Frame(step.body))
            return
        frame = _Frame(step.body, _TIMEOUT)
        token = TimeoutToken(step, _frame=frame, _thread=thread)
        frame.token = token
        thread.stack.append(frame)
        self.armed.append(token)

    def _enter_try(self, thread: _Thread, step: Try) -> None:
        where = f"{step.span.line}:{step.span.column}"
        count = self._try_entries.get(where, 0)
        self._try_entries[where] = count + 1
        frame = _Frame(step.body, _TRY)
        token = TryToken(step, f"{where}#{count}", _frame=frame, _thread=thread)
        frame.token = token
        thread.stack.append(frame)
        self.tries.append(token)

    def _start_par(self, thread: _Thread, step: Par) -> bool:
        """Spawn one thread per branch; True if the parent must wait for them."""
        children = [_Thread(branch, parent=thread) for branch in step.branches if branch]
        if not children:
            return False
        thread.children = children
        thread.waiting = len(children)
        thread.head = None
        self._threads.extend(children)
        return True

    def _thread_finished(self, thread: _Thread) -> None:
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


Thread = _Thread
"""One running sequence of a local type (the top level, or a `par` branch); opaque to callers."""


def _thread_depth(thread: _Thread) -> int:
    """Sort key keeping threads in a stable parent-before-child order."""
    depth = 0
    parent = thread.parent
    while parent is not None:
        depth += 1
        parent = parent.parent
    return depth
