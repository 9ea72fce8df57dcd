"""The sans-I/O monitor: checks one endpoint's sends, receives and choices against its local type.

No asyncio, no clock, no transport: events go in (`on_send`, `on_receive`, `on_choose`,
`on_timeout`, `on_try_outcome`), the matched step comes out, or `ProtocolViolation` is raised naming
role, session, step number, what was expected and what happened. The live endpoint, the simulator and
trace replay all drive this one machine.

Inside, the local type runs as a set of threads (one per active `par` branch), each a stack of frames
(sequence, loop, recursion, timeout body, try body). Silent steps (`if` on shared knowledge, counted
loops, `rec`/`continue`, local actions and `let`) are crossed lazily, right before the next event, so
the fields of the message just received are bound when an `if` after it is evaluated. The data types
are in `monitor_types`, the thread/frame bookkeeping in `monitor_threads`, the crossing of silent
steps in `monitor_settle`, the tie of a `choose` to one of several `par` threads at a choice of that
label in `monitor_choices` (this class's base) and the expression rules in `monitor_eval`; the event
rules are here.
"""

from __future__ import annotations

from collections.abc import Collection

from aura_choreo.errors import ProtocolViolation
from aura_choreo.projection.local_types import (
    Branch,
    Choose,
    Local,
    LocalStep,
    LocalType,
    Offer,
    Payload,
    Quorum,
    Recv,
    Send,
)
from aura_choreo.runtime.monitor_choices import MonitorChoices, PendingChoice, branch_of
from aura_choreo.runtime.monitor_eval import choice_error
from aura_choreo.runtime.monitor_table import RECV, SEND, MonitorTables
from aura_choreo.runtime.monitor_types import (
    LOOP,
    BranchResolver,
    EvaluationFailed,
    Frame,
    Thread,
    TimeoutToken,
    TryToken,
    describe,
)

_PLAIN = frozenset((Send, Recv))
"""The steps `_advance` moves a thread onto without settling (what `plain_head` returns)."""

__all__ = [
    "BranchResolver",
    "EvaluationFailed",
    "Monitor",
    "Thread",
    "TimeoutToken",
    "TryToken",
    "describe",
]


class Monitor(MonitorChoices):
    """Checks one role's actions against its local type; `env` holds the role's known values.

    `resolve_if` decides the `if`/`match` steps whose condition cannot be evaluated from `env` (trace
    replay has labels but no payload values); without it such a step raises `EvaluationFailed`.
    `tables` are the compiled transition tables to use (the catalog shares one across sessions; by
    default the monitor compiles its own); `compiled=False` interprets every step (for tests that hold
    the two ways equal).
    """

    def __init__(
        self,
        local_type: LocalType,
        *,
        session: str | None = None,
        env: dict[str, object] | None = None,
        resolve_if: BranchResolver | None = None,
        tables: MonitorTables | None = None,
        compiled: bool = True,
    ) -> None:
        self.local_type = local_type
        self.resolve_if = resolve_if
        self.role = local_type.role
        self.session = session
        self.env: dict[str, object] = env if env is not None else {}
        self.step_count = 0
        self._root = Thread(local_type.steps)
        self._threads: list[Thread] = [self._root]
        self._dirty = True
        self._tables = (tables or MonitorTables()) if compiled else None
        self._moves = None  # see `MonitorSettle._to_table`
        self._wrap = 0
        self.settles = 0
        """How many times silent steps were settled: while it stays the same, no block was entered
        or left and no timeout armed (see `plain_head`)."""
        self._try_entries: dict[str, int] = {}
        self._pending: list[PendingChoice] = []
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
        return bool(self._pending) and self.pending_opens((RECV, from_, label))

    def receivable_later(self, from_: str, label: str, ahead: Collection[str] = ()) -> bool:
        """Whether a message that is not receivable now (`accepts_receive` is False) will be, by a
        later step of some running thread, given that the messages queued before it from `from_`
        are labelled `ahead`.

        A sender may interleave its `par` branches freely, so on a channel two branches share, a
        message of branch 2 can arrive before branch 1's: it waits for its step, and is not a
        violation. A message that no thread can reach without first receiving another message from
        `from_` (the channel is FIFO) is out of order: a violation.
        """
        self._settle_all()
        return any(self._reaches(thread, from_, label, ahead) for thread in self._threads)

    @property
    def sequential(self) -> bool:
        """Whether at most one thread runs (no `par` is active): the next message on a channel is
        then the one the role must take."""
        if self._moves is not None:
            return True
        if self._dirty:
            self._settle_all()
        return len(self._threads) <= 1

    def in_order(self) -> bool:
        """Whether the next message on a channel is the one the role must take: no `par` is active
        and none may have to be dropped (a method: receives ask per message; a property costs more)."""
        if self._moves is not None:
            return not self.discards and not self.late
        return not self.drops_pending and self.sequential

    def expects_from(self, from_: str) -> bool:
        """Whether some next step receives from `from_`."""
        if self._moves is not None:
            head = self._thread.head
            return type(head) is Recv and head.from_ == from_
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
        return any(e[0] == RECV and e[1] == from_ for p in self._pending for e in self._openings(p))

    # ------------------------------------------------------------------ threads (for the runner)

    def plain_head(self, thread: Thread) -> Send | Recv | None:
        """The next step of `thread` when it is a send or receive that the last event led to directly
        (straight-line code, nothing to settle); None otherwise: ask `head_of`.

        The runner's per-step shortcut: when `settles` has not changed since it last asked `head_of`
        and `scopes`, this is what `head_of` would return, and the scopes are the same.
        """
        if self._moves is not None:
            return thread.head if thread is self._thread else None  # type: ignore[return-value]
        if self._dirty:
            return None
        head = thread.head
        if type(head) in _PLAIN and thread in self._threads:
            return head  # type: ignore[return-value]  # a Send or a Recv (`_PLAIN`)
        return None

    def head_of(self, thread: Thread) -> LocalStep | TryToken | None:
        """The next step of `thread`; None when it has ended or waits for its `par` branches."""
        self._settle_all()
        return thread.head if thread in self._threads else None

    def branches_of(self, thread: Thread) -> list[Thread]:
        """The running `par` branches `thread` waits for (empty when it waits for none)."""
        self._settle_all()
        return list(thread.children) if thread.waiting else []

    def quorum_senders(self, thread: Thread) -> tuple[str, ...]:
        """The senders a quorum at the head of `thread` still waits for (in declaration order)."""
        head = self.head_of(thread)
        if not isinstance(head, Quorum):
            return ()
        return tuple(r.from_ for i, r in enumerate(head.body) if i not in thread.quorum_got)

    # ------------------------------------------------------------------ dropped and late messages

    def is_late(self, sender: str, label: str) -> bool:
        """Whether a message belongs to a block this role has left (and is not expected again)."""
        return (sender, label) in self.late and not self.accepts_receive(sender, label)

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
        moves = self._moves
        if moves is not None:  # one thread, at a send or receive: its table decides (never dirty)
            if (SEND, to, label) in moves:
                thread = self._thread
                return thread, thread.head  # type: ignore[return-value]  # the Send of that move
            raise self._violation(f"send {label} to {to}")
        if self._dirty:
            self._settle_all()
            if self._moves is not None:
                return self.match_send(to, label)
        for thread in self._threads:
            head = thread.head
            if type(head) is Send and head.to == to and head.label == label:
                return thread, head
        found = self.pending_send(to, label) if self._pending else None
        if found is not None:
            return found  # the first send of a pending choice's branch (`accept_send` takes it)
        raise self._violation(f"send {label} to {to}")

    def accept_send(self, thread: Thread, step: Send, message: object = None) -> None:
        """Record the send `match_send` found (the caller has checked and encoded its payload)."""
        moves = self._moves
        if moves is not None and thread is self._thread and thread.head is step:  # table mode
            self.step_count += 1
            if message is not None and step.payload:
                self.bind(step.payload, message)
            to = moves[(SEND, step.to, step.label)]
            frame = self._frame
            if to >= 0:  # `_go`'s two common cases, inlined (one call less per message)
                frame.pos = to
                self._moves = self._table[to]
                thread.head = frame.seq[to]
            elif to == self._wrap and frame.remaining > 0:
                frame.remaining -= 1
                frame.index += 1
                frame.pos = 0
                self._moves = self._table[0]
                thread.head = frame.seq[0]
            else:
                self._go(to)
            return
        if thread.head is not step:
            # The send decides a pending choice (`match_send` found it in that choice's branch).
            if not self._pending or not self._resolve_pending((SEND, step.to, step.label)):
                raise self._violation(f"send {step.label} to {step.to}")
            self._settle_all()
            if thread.head is not step:
                raise self._violation(f"send {step.label} to {step.to}")
        self.step_count += 1
        if message is not None and step.payload:
            self.bind(step.payload, message)
        moves = self._moves
        if moves is not None and thread is self._thread:
            self._go(moves[(SEND, step.to, step.label)])
        else:
            self._advance(thread)

    def on_receive(self, from_: str, label: str, message: object = None) -> Recv | Branch:
        """Record the receipt of `label` from `from_`; returns the matched `Recv` (or offer `Branch`)."""
        moves = self._moves
        if moves is None and self._dirty:
            self._settle_all()
            moves = self._moves
        if moves is not None:  # one thread, at a send or receive: its table decides (never dirty)
            to = moves.get((RECV, from_, label))
            if to is None:
                raise self._violation(f"receive {label} from {from_}")
            thread = self._thread
            step: Recv = thread.head  # type: ignore[assignment]  # the Recv of that move
            self.step_count += 1
            if message is not None and step.payload:
                self.bind(step.payload, message)
            frame = self._frame
            if to >= 0:  # `_go`'s two common cases, inlined (one call less per message)
                frame.pos = to
                self._moves = self._table[to]
                thread.head = frame.seq[to]
            elif to == self._wrap and frame.remaining > 0:
                frame.remaining -= 1
                frame.index += 1
                frame.pos = 0
                self._moves = self._table[0]
                thread.head = frame.seq[0]
            else:
                self._go(to)
            return step
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
                thread.stack.append(Frame(matched.body))
                self._after_event(thread, matched.payload, message)
                return matched
            if isinstance(head, Quorum) and isinstance(matched, Recv):
                self._quorum_receive(thread, head, matched)
                self._after_event(thread, matched.payload, message)
                return matched
        if self._pending and self._resolve_pending((RECV, from_, label)):
            return self.on_receive(from_, label, message)  # the choice it decided is taken
        raise self._violation(f"receive {label} from {from_}")

    def on_choose(self, label: str, step: Choose | None = None) -> Branch:
        """Record this role's choice of branch `label`; returns the branch. `step`: the choice it is
        (the runner knows it); without it, a choice several `par` threads could take may stay
        pending until the next send or receive says which (see `monitor_choices`)."""
        self._settle_all()
        threads: list[Thread] = []
        error: str | None = None
        for thread in self._threads:
            head = thread.head
            if isinstance(head, Choose) and (step is None or head is step):
                branch = branch_of(head, label)
                if branch is None:
                    continue
                got = choice_error(head, branch, self.env, self.role, self.session, self.step_count)
                if got is None:
                    threads.append(thread)
                elif error is None:
                    error = got
        chosen = self._choose_among(label, threads) if threads else None
        if chosen is None:
            raise self._violation(error or f"choose {label}")
        return chosen

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
        thread.stack.append(Frame(token.step.alt))
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
            thread.stack.append(Frame(token.step.comp))
        self._reactivate(thread)

    # ------------------------------------------------------------------ internals

    def _advance(self, thread: Thread) -> None:
        """Step past a send/receive head; the next step is found at once when it is a plain one."""
        frame = thread.stack[-1]
        seq = frame.seq
        pos = frame.pos + 1
        if pos < len(seq):
            frame.pos = pos
            step = seq[pos]
            if type(step) in _PLAIN:
                thread.head = step  # straight-line code: no settling needed
                return
        elif frame.kind == LOOP and frame.remaining > 0 and frame.var is None:
            frame.remaining -= 1  # the next round of a counted loop (the index needs no binding)
            frame.index += 1
            frame.pos = 0
            step = seq[0]  # the body sent or received something, so it is not empty
            if type(step) in _PLAIN:
                thread.head = step
                return
        else:
            frame.pos = pos
        thread.head = None
        self._moves = None
        self._dirty = True

    def _violation(self, got: str) -> ProtocolViolation:
        return ProtocolViolation(
            self.role, self.expected(), got, session=self.session, step=f"step {self.step_count + 1}"
        )

    def _after_event(self, thread: Thread, payload: Payload, message: object) -> None:
        self.step_count += 1
        if message is not None and payload:
            self.bind(payload, message)
        thread.head = None
        self._moves = None
        self._dirty = True
