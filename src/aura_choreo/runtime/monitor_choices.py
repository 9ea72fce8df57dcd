"""The monitor's internal choices inside `par`: which thread a `choose(label)` belongs to.

Two running `par` branches may both stand at a choice with a branch `label` (one choice per family
instance, or two explicit branches choosing the same labels towards different peers). A role may take
them in any order, and `choose(label)` alone does not say which thread it is for. When the branches
the choice would enter begin differently (`send Go to A` here, `send Go to B` there), the choice is
kept pending, already counted as a step, and the role's next send or receive that no running thread
takes at once decides it: the thread whose branch begins with that event takes the choice. Several
pending choices are matched to distinct threads; a thread taken by one leaves the others' candidates.

When the branches cannot be told apart by their first event (they begin with the same send, or with
a step whose first event is not known before it is settled: an `if`, a loop, a nested block), the
first candidate takes the choice at once, as before. For identical branches (the same steps to the
same peers) that is exact: either thread accepts the same events from then on. Branches that begin
alike and differ later are not told apart (that would need the set of possible states, not one).

`MonitorChoices` is a base of `monitor.Monitor`, whose `on_choose` finds the candidates; the event
rules stay there.
"""

from __future__ import annotations

from aura_choreo.projection.local_types import Branch, Choose, LocalSeq, Offer, Recv, Send
from aura_choreo.runtime.monitor_settle import MonitorSettle
from aura_choreo.runtime.monitor_table import RECV, SEND
from aura_choreo.runtime.monitor_types import Frame, Thread

__all__ = ["MonitorChoices", "PendingChoice", "branch_of", "opening"]

Event = tuple[int, str, str]
"""(SEND or RECV, peer, label), as in the compiled tables' moves."""


def branch_of(step: Choose, label: str) -> Branch | None:
    """The branch of `step` labelled `label` (None: it has none)."""
    for branch in step.branches:
        if branch.label == label:
            return branch
    return None


def opening(seq: LocalSeq) -> frozenset[Event] | None:
    """The events `seq` begins with; None when that is not known without settling it (it is empty,
    or its first step is not a send, receive or offer)."""
    step = seq[0] if seq else None
    kind = type(step)
    if kind is Send:
        assert isinstance(step, Send)
        return frozenset(((SEND, step.to, step.label),))
    if kind is Recv:
        assert isinstance(step, Recv)
        return frozenset(((RECV, step.from_, step.label),))
    if kind is Offer:
        assert isinstance(step, Offer)
        return frozenset((RECV, step.from_, b.label) for b in step.branches)
    return None


class PendingChoice:
    """A `choose(label)` not yet tied to a thread: `threads` are those it may be for."""

    __slots__ = ("label", "threads")

    def __init__(self, label: str, threads: list[Thread]) -> None:
        self.label = label
        self.threads = threads


class MonitorChoices(MonitorSettle):
    """Pending choices among `par` threads (see the module docstring)."""

    _pending: list[PendingChoice]

    def _choose_among(self, label: str, threads: list[Thread]) -> Branch | None:
        """Take choice `label` for one of `threads` (all at a choice with that branch, allowed), or
        keep it pending when their branches begin differently; returns a branch of that label, or
        None when every one of `threads` is already needed by the choices pending before it."""
        first = _branch(threads[0], label)
        if self._pending:
            involved = {t for p in self._pending for t in p.threads}.union(threads)
            if len(self._pending) + 1 > len(involved):
                return None
        if len(threads) > 1:
            openings = [opening(_branch(t, label).body) for t in threads]
            if None not in openings and (self._pending or len(set(openings)) > 1):
                self._pending.append(PendingChoice(label, threads))
                self.step_count += 1
                return first
            claimed = {t for p in self._pending for t in p.threads}
            threads = [t for t in threads if t not in claimed] or threads
        self._take_choice(threads[0], label)
        self._settle_pending(threads[0])
        return first

    def pending_send(self, to: str, label: str) -> tuple[Thread, Send] | None:
        """The thread and step a send of `label` to `to` would take by deciding a pending choice
        (the one `_resolve_pending` picks); nothing changes."""
        found = self._pending_for((SEND, to, label))
        if found is None:
            return None
        step = _branch(found[1], found[0].label).body[0]
        assert isinstance(step, Send)  # `opening` gave that send
        return found[1], step

    def _resolve_pending(self, event: Event) -> bool:
        """Tie the oldest pending choice whose branch in some thread begins with `event` to that
        thread; False when none does (nothing changes)."""
        found = self._pending_for(event)
        if found is None:
            return False
        pending, thread = found
        self._pending.remove(pending)
        self._take_choice(thread, pending.label, counted=True)
        self._settle_pending(thread)
        return True

    def _pending_for(self, event: Event) -> tuple[PendingChoice, Thread] | None:
        for pending in self._pending:
            for thread in pending.threads:
                branch = _live_branch(self._threads, thread, pending.label)
                events = opening(branch.body) if branch is not None else None
                if events is not None and event in events:
                    return pending, thread
        return None

    def pending_opens(self, event: Event) -> bool:
        """Whether a pending choice's branch in some thread begins with `event` (nothing changes)."""
        return any(event in self._openings(pending) for pending in self._pending)

    def _openings(self, pending: PendingChoice) -> set[Event]:
        """The events the branches `pending` may be for begin with."""
        found: set[Event] = set()
        for thread in pending.threads:
            branch = _live_branch(self._threads, thread, pending.label)
            events = opening(branch.body) if branch is not None else None
            if events is not None:
                found.update(events)
        return found

    def _settle_pending(self, taken: Thread) -> None:
        """`taken` has made its choice: it leaves the other pending choices' candidates, and a
        pending choice left with one candidate is that thread's."""
        gone = [taken]
        while gone:
            thread = gone.pop()
            for pending in list(self._pending):
                if thread in pending.threads:
                    pending.threads.remove(thread)
                live = [t for t in pending.threads if _live_branch(self._threads, t, pending.label)]
                if len(live) <= 1:
                    self._pending.remove(pending)
                    if live:
                        self._take_choice(live[0], pending.label, counted=True)
                        gone.append(live[0])

    def _take_choice(self, thread: Thread, label: str, counted: bool = False) -> None:
        """Enter branch `label` of the choice at the head of `thread` (`counted`: the choice was
        already counted as a step when it was made)."""
        head = thread.head
        assert isinstance(head, Choose)
        branch = _branch(thread, label)
        thread.stack[-1].pos += 1
        thread.stack.append(Frame(branch.body))
        if not counted:
            self.step_count += 1
        thread.head = None
        self._moves = None
        self._dirty = True


def _branch(thread: Thread, label: str) -> Branch:
    head = thread.head
    assert isinstance(head, Choose)
    branch = branch_of(head, label)
    assert branch is not None
    return branch


def _live_branch(threads: list[Thread], thread: Thread, label: str) -> Branch | None:
    """The branch `label` of the choice `thread` still stands at (None: it has ended or moved on)."""
    head = thread.head
    if thread not in threads or not isinstance(head, Choose):
        return None
    return branch_of(head, label)
