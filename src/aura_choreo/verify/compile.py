"""Compile a local type to a communicating finite-state machine (SPEC §4.1).

Construction: continuation-passing over the step sequence with epsilon edges, then epsilon
elimination (both data structure and elimination are `verify/epsilon.py`'s). Modelling choices (each
keeps the model an over-approximation of what can run, so the explorer stays sound for deadlocks):

- `choose`: branching on the first sends when every branch starts with a send; otherwise one internal
  `tau:choose L` edge per branch (the role commits before acting, and may then wait).
- `offer`: one receive edge per branch label.
- `if`: one `coin:if EXPR=L` edge per branch. Every role evaluates the same expression on the same
  shared knowledge, so all of them must take the same branch: the explorer makes the k-th decision of a
  coin key identical for every role that holds the key.
- counted loops: unrolled when the count is a literal up to `UNROLL_LIMIT`; otherwise a loop head with
  `coin:loop@D COUNT=again|exit` (all roles iterate the same number of times, any number).
- `rec`/`continue`: a head state and back edges; falling off the body leaves the recursion.
- `par`: the interleaving product of the branch machines.
- `quorum(k)`: the subsets of answers received; after k a `tau:quorum` step continues and owes the
  missing answers: the role drops exactly those (one message per missing sender) when they arrive. A
  set of "late" labels valid from then on would also drop the next round's answers in a loop.
- `timeout` (waiter): from every waiting state of the body a `tau:timeout` edge to alt; late body
  messages are discarded afterwards. Non-waiters run the body.
- `try` (saga): the outcome is a coin `saga C` shared by the participants: `commit` after the body, or
  `compensate`, which a participant may also take at any receive of the body (it abandons the body
  there); late body messages are discarded during compensation.
- local actions and `let` are silent.
"""

from __future__ import annotations

from collections import deque
from math import comb

from aura_choreo.diagnostics import UNKNOWN_SPAN
from aura_choreo.errors import AuraChoreoError
from aura_choreo.projection.local_types import (
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
    Quorum,
    Rec,
    Recv,
    Send,
    Timeout,
    Try,
    iter_steps,
)
from aura_choreo.semantics.expressions import expr_text
from aura_choreo.semantics.expressions import int_value as literal_int
from aura_choreo.verify.epsilon import Nfa, finish
from aura_choreo.verify.fsm import Action, ActionKind, Collect, Machine

UNROLL_LIMIT = 6
"""Counted loops with a literal count up to this are unrolled exactly; larger ones are abstracted."""

COLLECT_FROM = 8
"""A fan-in (`par` of one receive per sender) or quorum over at least this many senders is compiled to
a collector (`fsm.Collect`: a register of the answers received) instead of one state per subset."""

MAX_FRAGMENT_STATES = 200_000
"""Refuse to build a parallel/quorum product larger than this (a family too large to check)."""


def _reachable_count(machine: Machine) -> int:
    """How many states of `machine` its initial state reaches."""
    seen = {machine.initial}
    stack = [machine.initial]
    while stack:
        for index in machine.outgoing[stack.pop()]:
            target = machine.transitions[index].target
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return len(seen)


class MachineCompileError(AuraChoreoError):
    """A local type that cannot be compiled to a finite-state machine."""


class _Builder(Nfa):
    """The epsilon-NFA of a local type, built step by step (continuation-passing)."""

    # ------------------------------------------------------------ steps

    def seq(self, steps: LocalSeq, k: int, env: dict[str, int]) -> int:
        entry = k
        for step in reversed(steps):
            entry = self.step(step, entry, env)
        return entry

    def step(self, step: LocalStep, k: int, env: dict[str, int]) -> int:
        if isinstance(step, Send):
            s = self.new()
            self.spans[s] = step.span
            self.edge(s, Action.send(step.to, step.label), k)
            return s
        if isinstance(step, Recv):
            s = self.new()
            self.spans[s] = step.span
            self.edge(s, Action.recv(step.from_, step.label), k)
            return s
        if isinstance(step, Local):
            return k
        if isinstance(step, Choose):
            return self._choose(step, k, env)
        if isinstance(step, Offer):
            s = self.new()
            self.spans[s] = step.span
            for b in step.branches:
                tags = self.branch(step, "offer", b.label, step.choice)
                self.edge(s, Action.recv(step.from_, b.label), self.seq(b.body, k, env), tags)
            return s
        if isinstance(step, If):
            s = self.new()
            key = "if " + expr_text(step.expr)
            for b in step.branches:
                tags = self.branch(step, "if", b.label, key)
                self.edge(s, Action.coin(key, b.label), self.seq(b.body, k, env), tags)
            return s if step.branches else k
        if isinstance(step, Loop):
            return self._loop(step, k, env)
        if isinstance(step, Rec):
            head = self.new()
            self.eps(head, self.seq(step.body, k, {**env, step.label: head}))
            return head
        if isinstance(step, Continue):
            if step.label not in env:
                raise MachineCompileError(
                    f"role {self.role}: `continue {step.label}` is not inside `rec {step.label}`"
                    " (or crosses a parallel block)"
                )
            return env[step.label]
        if isinstance(step, Par):
            return self._par(step, k, env)
        if isinstance(step, Quorum):
            return self._quorum(step, k)
        if isinstance(step, Timeout):
            return self._timeout(step, k, env)
        if isinstance(step, Try):
            return self._try(step, k, env)
        raise MachineCompileError(f"role {self.role}: cannot compile step {type(step).__name__}")

    def _choose(self, step: Choose, k: int, env: dict[str, int]) -> int:
        if not step.branches:
            return k
        direct = len(step.branches) == 1 or all(b.body and isinstance(b.body[0], Send) for b in step.branches)
        s = self.new()
        for b in step.branches:
            tags = self.branch(step, "choose", b.label, step.choice)
            entry = self.seq(b.body, k, env)
            if direct:
                self.eps(s, entry, tags)
            else:
                self.edge(s, Action.tau(f"choose {b.label}"), entry, tags)
        return s

    def _loop(self, step: Loop, k: int, env: dict[str, int]) -> int:
        count = literal_int(step.count)
        if count is not None and count <= UNROLL_LIMIT:
            entry = k
            for _ in range(max(count, 0)):
                entry = self.seq(step.body, entry, env)
            return entry
        key = f"loop@{self.loop_depth} {expr_text(step.count)}"
        head = self.new()
        self.loop_depth += 1
        body = self.seq(step.body, head, env)
        self.loop_depth -= 1
        self.edge(head, Action.coin(key, "again"), body)
        self.edge(head, Action.coin(key, "exit"), k)
        return head

    def _par(self, step: Par, k: int, env: dict[str, int]) -> int:
        branches = [b for b in step.branches if b]
        if not branches:
            return k
        if len(branches) == 1:
            return self.seq(branches[0], k, env)
        if all(len(b) == 1 and isinstance(b[0], Recv) for b in branches):
            recvs = [b[0] for b in branches if isinstance(b[0], Recv)]
            if self._collectable(recvs):
                return self._collect(recvs, len(recvs), k)
        parts = []
        for body in branches:
            sub = _Builder(self.role, self.branches, self.origins, loop_depth=self.loop_depth)
            final = sub.new()
            parts.append(finish(sub, sub.seq(body, final, {}), final, self.role, ""))
        return self._embed_product(parts, k)

    def _embed_product(self, parts: list[Machine], k: int) -> int:
        # The branches never synchronise, so the reachable product is exactly the product of each
        # branch's reachable states: refuse a too-large one before enumerating any of it.
        product = 1
        for m in parts:
            product *= _reachable_count(m)
            if product > MAX_FRAGMENT_STATES:
                raise MachineCompileError(
                    f"role {self.role}: a parallel block has more than {MAX_FRAGMENT_STATES}"
                    " interleavings; bind the family to a smaller size to check it"
                )
        start = tuple(m.initial for m in parts)
        ids = {start: self.new()}
        queue = deque([start])
        while queue:
            current = queue.popleft()
            here = ids[current]
            discards: set[tuple[str, str]] = set()
            for i, m in enumerate(parts):
                if m.spans and here not in self.spans and m.spans[current[i]] != UNKNOWN_SPAN:
                    self.spans[here] = m.spans[current[i]]
                discards |= m.discard_map.get(current[i], frozenset())
                for index in m.outgoing[current[i]]:
                    t = m.transitions[index]
                    nxt = (*current[:i], t.target, *current[i + 1 :])
                    if nxt not in ids:
                        if len(ids) >= MAX_FRAGMENT_STATES:
                            raise MachineCompileError(
                                f"role {self.role}: a parallel block has more than {MAX_FRAGMENT_STATES}"
                                " interleavings; bind the family to a smaller size to check it"
                            )
                        ids[nxt] = self.new()
                        queue.append(nxt)
                    self.edge(here, t.action, ids[nxt], t.branches, t.owes)
            self.seed_discards(here, discards)
            if all(current[i] in m.finals for i, m in enumerate(parts)):
                self.eps(here, k)
        return ids[start]

    def _collectable(self, recvs: list[Recv]) -> bool:
        return 0 < self.collect_from <= len(recvs) and len({r.from_ for r in recvs}) == len(recvs)

    def _collect(self, recvs: list[Recv], need: int, k: int) -> int:
        """A collector (`fsm.Collect`): entry, a state inside (some received), and for a quorum that
        does not wait for every answer a state where it is complete and owes the rest."""
        cid = len(self.collectors)
        items = tuple((r.from_, r.label) for r in recvs)
        self.collectors.append((need, items))
        entry, inside = self.new(), self.new()
        done = k if need == len(items) else self.new()
        for state in {entry, inside, done} - {k}:
            self.spans[state] = recvs[0].span  # a deadlock there is located at the fan-in
        for i, (peer, label) in enumerate(items):
            action = Action.recv(peer, label)
            if need == 1:
                self.edge(entry, action, done, collect=Collect(cid, i, True))
                continue
            self.edge(entry, action, inside, collect=Collect(cid, i, False))
            self.edge(inside, action, inside, collect=Collect(cid, i, False))
            self.edge(inside, action, done, collect=Collect(cid, i, True))
        if done != k:
            self.edge(done, Action.tau(f"quorum {need} of {len(items)}"), k, collect=Collect(cid, -1, True))
        return entry

    def _quorum(self, step: Quorum, k: int) -> int:
        recvs = list(step.body)
        need = max(0, min(step.min, len(recvs)))
        if need and self._collectable(recvs):
            return self._collect(recvs, need, k)
        # Counted, not enumerated: a quorum over 30 answers has 2^30 subsets (issue 19).
        sizes = 0
        for j in range(need + 1):
            sizes += comb(len(recvs), j)
            if sizes > MAX_FRAGMENT_STATES:
                break
        if sizes > MAX_FRAGMENT_STATES:
            raise MachineCompileError(f"role {self.role}: a quorum over {len(recvs)} answers is too large")
        ids: dict[frozenset[int], int] = {}

        def state(received: frozenset[int]) -> int:
            if received not in ids:
                ids[received] = self.new()
                self.spans[ids[received]] = step.span
                if len(received) >= need:
                    missing = tuple(
                        sorted((r.from_, r.label) for i, r in enumerate(recvs) if i not in received)
                    )
                    if missing:
                        done = Action.tau(f"quorum {need} of {len(recvs)}")
                        self.edge(ids[received], done, k, owes=missing)
                    else:
                        self.eps(ids[received], k)
                else:
                    for i, r in enumerate(recvs):
                        if i not in received:
                            self.edge(ids[received], Action.recv(r.from_, r.label), state(received | {i}))
            return ids[received]

        return state(frozenset())

    def _timeout(self, step: Timeout, k: int, env: dict[str, int]) -> int:
        if not step.waiter:
            return self.seq(step.body, k, env)
        alt = self.seq(step.alt, k, env)
        self.seed_discards(alt, _received_messages(step.body))
        start = self.count
        first_edge = len(self.edges)
        body = self.seq(step.body, k, env)
        # A waiter that times out stops evaluating the body's shared-knowledge `if`s and loop counts:
        # the roles still in the body decide them without it (issue 11 item 10).
        leaves = frozenset(
            a.key for _, a, _, _ in self.edges[first_edge:] if a is not None and a.kind is ActionKind.COIN
        )
        self.regions.append((start, self.count, Action.tau(f"timeout {step.deadline_ms}ms"), alt, leaves))
        return body

    def _try(self, step: Try, k: int, env: dict[str, int]) -> int:
        key = f"saga {step.coordinator or '?'}"
        if step.participants:
            key += " [" + ",".join(step.participants) + "]"
        comp = self.seq(step.comp, k, env)
        self.seed_discards(comp, _received_messages(step.body))
        done = self.new()
        self.edge(done, Action.coin(key, "commit"), k)
        self.edge(done, Action.coin(key, "compensate"), comp)
        start = self.count
        body = self.seq(step.body, done, env)
        self.regions.append((start, self.count, Action.coin(key, "compensate"), comp, frozenset()))
        return body


def _received_messages(seq: LocalSeq) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for step in iter_steps(seq):
        if isinstance(step, Recv):
            found.add((step.from_, step.label))
        elif isinstance(step, Offer):
            found.update((step.from_, b.label) for b in step.branches)
    return found


def compile_machine(local_type: LocalType, *, collect_from: int = 0) -> Machine:
    """The communicating finite-state machine of one role's local type.

    With `collect_from` > 0, fan-ins and quorums over at least that many distinct senders are
    compiled to collectors (`fsm.Collect`), which only the explorer reads; 0 (the default, for
    exports, drawings and subtyping) always builds the explicit machine."""
    builder = _Builder(local_type.role, collect_from=collect_from)
    final = builder.new()
    entry = builder.seq(local_type.steps, final, {})
    return finish(builder, entry, final, local_type.role, local_type.protocol)
