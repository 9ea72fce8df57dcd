"""A small simulator that runs every role's local type against the others (test helper).

Asynchronous FIFO channels per (sender, receiver); at each step one enabled action of some role is
taken (chosen by a seeded RNG). Choices are random; after `budget` steps, choices prefer a branch
that does not `continue` so loops end. Parallel branches and quorums run as threads of their role.
A run succeeds when every role reaches `end` and no message is left unread.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from aura_choreo.projection import local_types as lt
from aura_choreo.semantics.expressions import expr_text, int_value


@dataclass
class _Frame:
    seq: lt.LocalSeq
    index: int = 0
    rec: str | None = None


@dataclass
class _Thread:
    role: str
    frames: list[_Frame]
    children: list[_Thread] = field(default_factory=list)
    in_par: bool = False
    """Threads of a parallel block take messages by label (the runtime routes by label), so parallel
    branches sharing a channel do not block each other; elsewhere a channel is strictly FIFO."""

    @property
    def done(self) -> bool:
        return not self.frames and not self.children


@dataclass(frozen=True)
class RunResult:
    ok: bool
    steps: int
    problem: str = ""
    trace: tuple[str, ...] = ()


class Lockstep:
    def __init__(self, types: dict[str, lt.LocalType], seed: int, budget: int = 2000):
        self.types = types
        self.rng = random.Random(seed)
        self.budget = budget
        self.steps = 0
        self.queues: dict[tuple[str, str], deque[str]] = {}
        self.threads = {role: _Thread(role, [_Frame(t.steps)]) for role, t in types.items()}
        self.shared: dict[tuple[str, int], int] = {}
        self.if_counts: dict[tuple[str, str], int] = {}
        self.trace: list[str] = []

    # -- settling: run the steps that need no partner
    def _settle(self, thread: _Thread) -> None:
        while True:
            thread.children = [c for c in thread.children if not c.done]
            for child in thread.children:
                self._settle(child)
            thread.children = [c for c in thread.children if not c.done]
            if thread.children or not thread.frames:
                return
            frame = thread.frames[-1]
            if frame.index >= len(frame.seq):
                thread.frames.pop()
                continue
            step = frame.seq[frame.index]
            if isinstance(step, lt.Send | lt.Recv | lt.Offer | lt.Choose):
                return
            frame.index += 1
            self._expand(thread, step)

    def _expand(self, thread: _Thread, step: lt.LocalStep) -> None:
        if isinstance(step, lt.Loop):
            count = int_value(step.count)
            assert count is not None, f"loop count is not a literal: {step.count}"
            thread.frames.append(_Frame(step.body * count))
        elif isinstance(step, lt.Rec):
            thread.frames.append(_Frame(step.body, rec=step.label))
        elif isinstance(step, lt.Continue):
            while thread.frames and thread.frames[-1].rec != step.label:
                thread.frames.pop()
            assert thread.frames, f"continue {step.label} outside its rec"
            thread.frames[-1].index = 0
        elif isinstance(step, lt.If):
            thread.frames.append(_Frame(step.branches[self._shared_decision(thread.role, step)].body))
        elif isinstance(step, lt.Par):
            thread.children = [_Thread(thread.role, [_Frame(b)], in_par=True) for b in step.branches]
        elif isinstance(step, lt.Quorum):
            thread.children = [_Thread(thread.role, [_Frame((r,))], in_par=True) for r in step.body]
        elif isinstance(step, lt.Timeout | lt.Try):
            thread.frames.append(_Frame(step.body))
        # Local: nothing to do

    def _shared_decision(self, role: str, step: lt.If) -> int:
        key = (role, expr_text(step.expr))
        occurrence = self.if_counts.get(key, 0)
        self.if_counts[key] = occurrence + 1
        shared_key = (expr_text(step.expr), occurrence)
        if shared_key not in self.shared:
            late = self.steps > self.budget
            self.shared[shared_key] = (
                _exit_branch(step.branches) if late else self.rng.randrange(len(step.branches))
            )
        return self.shared[shared_key]

    # -- actions
    def _actions(self, thread: _Thread) -> list[Callable[[], None]]:
        if thread.children:
            return [a for c in thread.children for a in self._actions(c)]
        if not thread.frames:
            return []
        frame = thread.frames[-1]
        step = frame.seq[frame.index]
        role = thread.role
        if isinstance(step, lt.Send):
            return [lambda: self._send(role, frame, step)]
        if isinstance(step, lt.Recv):
            position = self._find(step.from_, role, {step.label}, thread.in_par)
            if position is None:
                return []
            return [lambda: self._take(role, frame, step.from_, position, None)]
        if isinstance(step, lt.Offer):
            labels = {b.label: b for b in step.branches}
            position = self._find(step.from_, role, set(labels), thread.in_par)
            if position is None:
                return []
            label = self.queues[(step.from_, role)][position]
            return [lambda: self._take(role, frame, step.from_, position, labels[label], thread)]
        if isinstance(step, lt.Choose):
            return [lambda: self._choose(thread, frame, step)]
        return []

    def _send(self, role: str, frame: _Frame, step: lt.Send) -> None:
        self.queues.setdefault((role, step.to), deque()).append(step.label)
        self.trace.append(f"{role} -> {step.to}: {step.label}")
        frame.index += 1

    def _find(self, sender: str, role: str, labels: set[str], by_label: bool) -> int | None:
        queue = self.queues.get((sender, role))
        if not queue:
            return None
        if not by_label:
            return 0 if queue[0] in labels else None
        return next((i for i, label in enumerate(queue) if label in labels), None)

    def _take(
        self,
        role: str,
        frame: _Frame,
        sender: str,
        position: int,
        branch: lt.Branch | None,
        thread: _Thread | None = None,
    ) -> None:
        queue = self.queues[(sender, role)]
        label = queue[position]
        del queue[position]
        self.trace.append(f"{role} <- {sender}: {label}")
        frame.index += 1
        if branch is not None and thread is not None:
            thread.frames.append(_Frame(branch.body))

    def _choose(self, thread: _Thread, frame: _Frame, step: lt.Choose) -> None:
        if self.steps > self.budget:
            branch = step.branches[_exit_branch(step.branches)]
        else:
            branch = self.rng.choice(step.branches)
        frame.index += 1
        thread.frames.append(_Frame(branch.body))

    def run(self, max_steps: int = 20_000) -> RunResult:
        while self.steps < max_steps:
            for thread in self.threads.values():
                self._settle(thread)
            enabled = [a for t in self.threads.values() for a in self._actions(t)]
            if not enabled:
                break
            self.rng.choice(enabled)()
            self.steps += 1
        else:
            return RunResult(False, self.steps, "did not finish within the step limit", tuple(self.trace))
        stuck = [r for r, t in self.threads.items() if not t.done]
        if stuck:
            where = {r: self._describe(self.threads[r]) for r in stuck}
            return RunResult(False, self.steps, f"stuck roles: {where}", tuple(self.trace))
        left = {k: list(q) for k, q in self.queues.items() if q}
        if left:
            return RunResult(False, self.steps, f"unconsumed messages: {left}", tuple(self.trace))
        return RunResult(True, self.steps, "", tuple(self.trace))

    def _describe(self, thread: _Thread) -> str:
        if thread.children:
            return " | ".join(self._describe(c) for c in thread.children if not c.done)
        frame = thread.frames[-1]
        return repr(frame.seq[frame.index])


def _exit_branch(branches: tuple[lt.Branch, ...]) -> int:
    """A branch that does not jump back (so loops end once the budget is spent), else the first."""
    for index, branch in enumerate(branches):
        if not any(isinstance(s, lt.Continue) for s in lt.iter_steps(branch.body)):
            return index
    return 0


def run_lockstep(types: dict[str, lt.LocalType], seed: int) -> RunResult:
    """Run all roles together once with `seed`."""
    return Lockstep(types, seed).run()
