"""Explicit-state exploration of the product of role machines (SPEC §4.2).

The layout of a global state and the moves of one role are `verify/product.py`'s (tables in
`verify/tables.py`); what a state is reported as (deadlock, unspecified reception, ...) and the
counterexample traces are `verify/explore_findings.py`'s. Visited states are
kept as 64-bit hashes (hash compaction) mapped to their BFS index; the BFS parent links give shortest
counterexamples. Two distinct states share a hash with probability about n^2 / 2^65 (3e-8 for 10^6
states); the states themselves are only kept for the BFS frontier, which is what keeps 10^6 states in
a few hundred MiB.

Coins: the first role to evaluate the k-th decision of a key chooses freely and queues the outcome
for every other holder of the key; a role with a queued outcome must follow it. So all roles take the
same branch of a shared-knowledge `if` (and iterate a symbolic loop equally often).

Partial-order reduction (persistent sets). Actions of different roles are independent here: only the
owner moves its machine, a channel has one writer (appends at the tail) and one reader (pops the
head), and coin queues only grow at the tail for other roles. The enabled set of a role can still be
*changed* by others when it listens on an empty channel, has a send blocked by the bound, or has a free
coin choice. A role whose enabled set cannot change ("stable") gives a persistent set: all of its
enabled moves. That preserves every reachable deadlock (Godefroid). The cycle proviso is static: a
role's moves are never a reduced set if one of them is "sticky" (`verify/proviso.py`: back edges of
its machine, except around receives from roles before it). Every cycle of the product takes a sticky
transition, so every cycle of the reduced graph contains a fully expanded state; no action is ignored
forever, and unspecified receptions, branch coverage and "cannot reach end" are preserved too.

Symmetry reduction (`verify/symmetry.py`): where a family's instances are interchangeable, each
successor is replaced by its canonical form (the instances sorted) before it is looked up; its
docstring says when that applies and why the verdicts stay the same.
"""

from __future__ import annotations

import gc
import sys
import time
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from aura_choreo.verify.explore_findings import MAX_FINDINGS_PER_KIND, Diagnosis
from aura_choreo.verify.findings import Finding, FindingKind
from aura_choreo.verify.fsm import ActionKind, Machine
from aura_choreo.verify.product import Move, State
from aura_choreo.verify.proviso import sticky_transitions
from aura_choreo.verify.symmetry import find_symmetry

__all__ = ["MAX_FINDINGS_PER_KIND", "ExplorationResult", "explore", "peak_rss_bytes"]


@dataclass(frozen=True)
class ExplorationResult:
    """What the explorer saw."""

    states: int
    transitions: int
    findings: tuple[Finding, ...]
    complete: bool
    bound_reached: bool
    fired: Mapping[str, frozenset[int]] = field(default_factory=dict)
    """Per role, the indices of machine transitions taken in some explored run."""
    seconds: float = 0.0
    """Wall-clock time of the search itself (tables, exploration, livelock analysis)."""
    peak_rss_bytes: int = 0
    """The process's peak resident memory when the search ended (0 where the OS does not say)."""
    symmetric_families: tuple[str, ...] = ()
    """The families whose instances were treated as interchangeable (`verify/symmetry.py`)."""

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else 0.0


class _Explorer(Diagnosis):
    def __init__(
        self,
        machines: Sequence[Machine],
        bound: int,
        por: bool,
        max_states: int | None,
        symmetry: bool = False,
    ):
        super().__init__(machines, bound)
        self.symmetry = find_symmetry(self.t) if symmetry else None
        self.por = por
        self.max_states = max_states
        self.cyclic = any(m.has_cycle for m in machines)
        sticky = sticky_transitions(machines) if por else [frozenset[int]() for _ in machines]
        self.back = frozenset(r + self.n * ti for r, edges in enumerate(sticky) for ti in edges)
        """The step codes a reduced ample set may not contain (`verify/proviso.py`)."""
        self.collecting = [r for r, m in enumerate(machines) if m.collectors]
        self._dirty: dict[int, tuple[int, ...]] = {}
        self.may_close_cycle = [
            [any(ti in edges for ti in m.outgoing[q]) for q in range(m.state_count)]
            for m, edges in zip(machines, sticky, strict=True)
        ]
        """Per role and state: whether some outgoing transition is sticky (else no move is)."""

    # ------------------------------------------------------------ the search

    def run(self) -> ExplorationResult:
        n = self.n
        t = self.t
        init = self.t.initial()
        seen: dict[int, int] = {hash(init): 0}
        parent = array("q", [-1])
        via = array("q", [0])
        edges_to = array("l")
        edge_start = array("q")
        masks_final = array("q")
        masks_need = array("q")
        fired = bytearray(n * (1 + max(len(m.transitions) for m in t.machines)))
        """Per step code (role + n * transition index), whether some explored run took it."""
        self._reports = {}
        self._per_kind = {}
        stuck_bit = 1 << n
        # A role "arrives" at a final state, or in a state its own machine can never leave for one: an
        # intended endless loop (`rec L { ...; continue L }`), which SPEC §3.5 accepts. A role that is
        # stuck in one while others still need it is a deadlock, reported on its own.
        final_bits = [
            [
                (1 << r) if f or not (ok or not t.machines[r].outgoing[q]) else 0
                for q, (f, ok) in enumerate(zip(t.final[r], t.can_finish[r], strict=True))
            ]
            for r in range(n)
        ]
        need_shift = n + 1  # above the stuck bit
        final_need_bits = [
            [
                final | (1 << r << need_shift if ok and not f else 0)
                for final, f, ok in zip(final_bits[r], t.final[r], t.can_finish[r], strict=True)
            ]
            for r in range(n)
        ]
        """Per role and state: its final bit, and its need bit shifted left by `need_shift`."""
        final_mask = (1 << n) - 1
        # Each frontier entry carries the roles with an unspecified reception in the state that
        # discovered it and the roles the step changed: only those are checked again (a role's
        # reception depends on its own state and the head of a channel only it reads, issue 19).
        frontier: list[tuple[int, State, frozenset[int], tuple[int, ...] | None]] = [
            (0, init, frozenset(), None)
        ]
        limit = self.max_states if self.max_states is not None else 1 << 62
        transitions = 0
        complete = True
        count = 1
        dirty_of = self._dirty_roles
        dirty_known = self._dirty
        cyclic = self.cyclic
        choose = self._choose_moves
        check = self._check_reception
        watched = self.watched
        nothing: frozenset[int] = frozenset()
        canonical = self.symmetry.canonical if self.symmetry is not None else None
        while frontier and complete:
            next_frontier: list[tuple[int, State, frozenset[int], tuple[int, ...] | None]] = []
            for idx, st, inherited, dirty in frontier:
                moves = choose(st)
                if dirty is None:
                    wrong = check(st, idx, range(n))
                else:
                    for r in dirty:
                        if watched[r][st[r]]:
                            wrong = check(st, idx, dirty)
                            break
                    else:
                        wrong = nothing
                    if inherited:
                        wrong = wrong | inherited.difference(dirty)
                self._last_reception_error = bool(wrong)
                error_here = self._last_reception_error
                if not moves:
                    error_here = self._classify_stuck(st, idx) or error_here
                if cyclic:
                    edge_start.append(len(edges_to))
                    # Role bits are disjoint, so summing the per-role bits of the state is an OR.
                    bits = sum(map(list.__getitem__, final_need_bits, st))
                    masks_final.append(bits & final_mask | (stuck_bit if error_here else 0))
                    masks_need.append(bits >> need_shift)
                for code, succ in moves:
                    transitions += 1
                    if code >= 0:
                        fired[code] = 1
                    orders = None
                    if canonical is not None:
                        succ, orders = canonical(succ)
                    h = hash(succ)
                    target = seen.get(h)
                    if target is None:
                        if count >= limit:
                            complete = False
                            break
                        target = count
                        count += 1
                        seen[h] = target
                        parent.append(idx)
                        via.append(code)
                        if orders is not None:
                            # Renamed instances: the parent's role indices mean other roles here.
                            next_frontier.append((target, succ, nothing, None))
                            continue
                        changed = dirty_known.get(code)
                        if changed is None:
                            changed = dirty_of(code)
                        next_frontier.append((target, succ, wrong, changed))
                    if cyclic:
                        edges_to.append(target)
                if not complete:
                    break
            frontier = next_frontier
        self.parent, self.via = parent, via
        states = len(seen)
        del seen
        if self.cyclic and complete:
            edge_start.append(len(edges_to))
            self._livelocks(states, edge_start, edges_to, masks_final, masks_need)
        findings = self._findings()
        if not complete:
            findings.append(
                Finding(
                    FindingKind.STATE_LIMIT,
                    f"stopped after {states} states (limit {self.max_states}); the result is partial",
                )
            )
        taken = {
            m.role: frozenset(i for i in range(len(m.transitions)) if fired[r + n * i])
            for r, m in enumerate(self.t.machines)
        }
        return ExplorationResult(
            states=states,
            transitions=transitions,
            findings=tuple(findings),
            complete=complete,
            bound_reached=self.bound_blocked,
            fired=taken if self.symmetry is None else self.symmetry.close_fired(taken),
            symmetric_families=tuple(f.name for f in self.symmetry.families) if self.symmetry else (),
        )

    def _choose_moves(self, st: State) -> list[Move]:
        """A persistent set (one stable role's moves, none closing a local cycle) if any, else all.

        Stability is checked without building successors; only a stable role's moves are built
        until one qualifies (building every role's moves first was 59% of the search, issue 19)."""
        if not self.por:
            return self.all_moves(st)
        t = self.t
        for r in self.collecting:
            if t.owe_slot[r] >= 0 and st[t.owe_slot[r]]:
                # Dropping an owed straggler commutes with every other step and nothing else can take
                # it from the head of its channel: it alone is a persistent set.
                drop = self.first_straggler_drop(st, r)
                if drop is not None:
                    return [drop]
            if t.collect_only[r][st[r]]:
                # A fan-in's receives read distinct channels and every one must happen: each commutes
                # with every other step and none disables another, so one alone is persistent. In a
                # quorum, an answer at the head of its channel is either counted or, once the quorum
                # is complete, owed and dropped: counting it first reaches, after that drop, the state
                # counting another one would (the completion is the only step of its state).
                moves = self.role_moves(st, r)[0]
                if moves and moves[0][0] not in self.back:  # the cycle proviso, as below
                    return moves[:1]
        back = self.back
        bound = self.bound
        built: dict[int, list[Move]] = {}
        for r, checks in enumerate(self.checks):
            check = checks[st[r]]
            if check is False:
                continue  # no move in this state, whatever the others do
            if check is True:
                if not self.is_stable(st, r):
                    continue
            else:
                listen, sends = check
                stable = True
                for slot in sends:
                    if len(st[slot]) >= bound:
                        stable = False
                        self.bound_blocked = True
                if not stable:
                    continue
                for slot in listen:
                    if not st[slot]:
                        stable = False
                        break
                if not stable:
                    continue
            moves = self.role_moves(st, r)[0]
            if moves and not (self.may_close_cycle[r][st[r]] and any(code in back for code, _ in moves)):
                return moves
            built[r] = moves
        return self.all_moves(st, built)

    def _dirty_roles(self, code: int) -> tuple[int, ...]:
        """The roles whose reception a step can change: its own, and a send's receiver."""
        dirty = self._dirty.get(code)
        if dirty is None:
            n = self.n
            if code < 0:
                dirty = ((-1 - code) % n,)
            else:
                r = code % n
                action = self.t.machines[r].transitions[code // n].action
                roles = self.t.roles
                peer = action.peer if action.kind is ActionKind.SEND and action.peer in roles else ""
                dirty = (r, roles.index(peer)) if peer else (r,)
            self._dirty[code] = dirty
        return dirty


def peak_rss_bytes() -> int:
    """The peak resident set size of this process so far (0 where `resource` is unavailable)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # bytes on macOS, KiB elsewhere


def explore(
    machines: Sequence[Machine],
    *,
    bound: int = 4,
    por: bool = True,
    max_states: int | None = None,
    symmetry: bool | None = None,
) -> ExplorationResult:
    """Explore the product of `machines` (one per role) with FIFO channels bounded by `bound`.

    `symmetry` (default: as `por`) permutes interchangeable family instances (`verify/symmetry.py`);
    `por=False` with the default explores every state."""
    began = time.perf_counter()
    # The search allocates millions of tuples and no reference cycles: the cyclic garbage collector
    # would only rescan the ever-growing frontier (issue 19 measured large runs 2.5x slower with it).
    collecting = gc.isenabled()
    gc.disable()
    try:
        result = _Explorer(machines, bound, por, max_states, por if symmetry is None else symmetry).run()
    finally:
        if collecting:
            gc.enable()
    return replace(result, seconds=time.perf_counter() - began, peak_rss_bytes=peak_rss_bytes())
