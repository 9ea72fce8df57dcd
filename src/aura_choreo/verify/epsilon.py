"""The epsilon-NFA that `verify/compile.py` builds for a local type, and its epsilon elimination.

`Nfa` holds the states and edges under construction (an edge without an action is an epsilon edge;
tags name the branches an edge belongs to). `finish` turns it into a `Machine`: epsilon closure from
the entry state, states numbered in BFS order, discard sets propagated forward, and a cycle of
silent steps made an explicit `tau:idle` loop.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from aura_choreo.diagnostics import UNKNOWN_SPAN, Span
from aura_choreo.projection.local_types import LocalStep
from aura_choreo.verify.fsm import Action, ActionKind, BranchInfo, Collect, Machine, Transition

NO_TAGS: frozenset[int] = frozenset()


@dataclass
class Nfa:
    """The epsilon-NFA under construction."""

    role: str
    branches: list[BranchInfo] = field(default_factory=list)
    origins: dict[int, int] = field(default_factory=dict)
    count: int = 0
    edges: list[tuple[int, Action | None, int, frozenset[int]]] = field(default_factory=list)
    discard_seeds: dict[int, set[tuple[str, str]]] = field(default_factory=dict)
    regions: list[tuple[int, int, Action, int, frozenset[str]]] = field(default_factory=list)
    loop_depth: int = 0
    owes: dict[int, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    """Per index into `edges` of a step that completes a quorum: the stragglers it leaves."""
    spans: dict[int, Span] = field(default_factory=dict)
    """Per state, the statement a role in it is about to take (for locating a deadlock)."""
    collects: dict[int, Collect] = field(default_factory=dict)
    """Per index into `edges` of a step of a collector (see `fsm.Collect`): which item, which variant."""
    collectors: list[tuple[int, tuple[tuple[str, str], ...]]] = field(default_factory=list)
    collect_from: int = 0
    """Fan-ins and quorums of at least this many answers (from distinct peers) become collectors; 0: never."""

    def new(self) -> int:
        self.count += 1
        return self.count - 1

    def eps(self, source: int, target: int, tags: frozenset[int] = NO_TAGS) -> None:
        self.edges.append((source, None, target, tags))

    def edge(
        self,
        source: int,
        action: Action,
        target: int,
        tags: frozenset[int] = NO_TAGS,
        owes: tuple[tuple[str, str], ...] = (),
        collect: Collect | None = None,
    ) -> None:
        if owes:
            self.owes[len(self.edges)] = owes
        if collect is not None:
            self.collects[len(self.edges)] = collect
        self.edges.append((source, action, target, tags))

    def seed_discards(self, state: int, messages: set[tuple[str, str]]) -> None:
        if messages:
            self.discard_seeds.setdefault(state, set()).update(messages)

    def branch(self, step: LocalStep, kind: str, label: str, choice: str) -> frozenset[int]:
        origin = self.origins.setdefault(id(step), len(self.origins))
        self.branches.append(BranchInfo(kind, label, choice, step.span, origin))
        return frozenset({len(self.branches) - 1})


@dataclass(frozen=True)
class _Effects:
    """What a step does besides its action: stragglers it owes, coin keys it stops following."""

    owes: tuple[tuple[str, str], ...] = ()
    leaves: frozenset[str] = frozenset()
    collect: Collect | None = None


def finish(b: Nfa, entry: int, final: int, role: str, protocol: str) -> Machine:
    """Eliminate epsilon edges, keep what `entry` reaches, and number states in BFS order."""
    n = b.count
    eps_out: list[list[tuple[int, frozenset[int]]]] = [[] for _ in range(n)]
    vis_out: list[list[tuple[Action, int, frozenset[int], _Effects]]] = [[] for _ in range(n)]
    for index, (source, action, target, tags) in enumerate(b.edges):
        if action is None:
            eps_out[source].append((target, tags))
        else:
            effects = _Effects(b.owes.get(index, ()), collect=b.collects.get(index))
            vis_out[source].append((action, target, tags, effects))
    for start, end, action, target, leaves in b.regions:
        for s in range(start, end):
            if any(a.kind is ActionKind.RECV for a, _, _, _ in vis_out[s]):
                vis_out[s].append((action, target, NO_TAGS, _Effects(leaves=leaves)))
    discards = _propagate_discards(b, eps_out, vis_out)

    def closure(s: int) -> dict[int, frozenset[int]]:
        seen = {s: NO_TAGS}
        work = [s]
        while work:
            t = work.pop()
            for u, tags in eps_out[t]:
                if u not in seen:
                    seen[u] = seen[t] | tags
                    work.append(u)
        return seen

    component = _eps_components(eps_out)
    order = {entry: 0}
    queue = deque([entry])
    merged: dict[tuple[int, Action, int, _Effects], frozenset[int]] = {}
    finals: set[int] = set()
    spans: dict[int, Span] = {}
    state_discards: dict[int, frozenset[tuple[str, str]]] = {}
    while queue:
        s = queue.popleft()
        reach = closure(s)
        if final in reach:
            finals.add(s)
        span = next((b.spans[t] for t in reach if t in b.spans), None)
        if span is not None:
            spans[order[s]] = span
        dropped: set[tuple[str, str]] = set()
        for t, tags in reach.items():
            dropped |= discards[t]
            for action, u, edge_tags, effects in vis_out[t]:
                key = (s, action, u, effects)
                merged[key] = merged.get(key, NO_TAGS) | tags | edge_tags
                if u not in order:
                    order[u] = len(order)
                    queue.append(u)
        if dropped:
            state_discards[s] = frozenset(dropped)
        # A cycle of silent steps (`rec X { choice A { again: { continue X } } }`) is a role idling
        # forever, as `rec X { continue X }` is: an explicit `tau:idle` loop, so the role is neither
        # "stuck" nor its branch "never taken" (issue 11 item 8).
        spin = [tags for t in reach for u, tags in eps_out[t] if u in reach and component[u] == component[t]]
        if spin:
            key = (s, Action.tau("idle"), s, _Effects())
            merged[key] = merged.get(key, NO_TAGS).union(*spin)
    transitions = tuple(
        Transition(order[s], action, order[u], tags, e.owes, e.leaves, e.collect)
        for (s, action, u, e), tags in merged.items()
    )
    return Machine(
        role=role,
        state_count=len(order),
        initial=0,
        finals=frozenset(order[s] for s in finals),
        transitions=transitions,
        discards=tuple(sorted((order[s], d) for s, d in state_discards.items())),
        branches=tuple(b.branches),
        protocol=protocol,
        spans=tuple(spans.get(i, UNKNOWN_SPAN) for i in range(len(order))) if spans else (),
        collectors=tuple(b.collectors),
    )


def _eps_components(eps_out: list[list[tuple[int, frozenset[int]]]]) -> list[int]:
    """Strongly connected components of the epsilon graph (iterative Tarjan): a component id per state."""
    n = len(eps_out)
    index = [-1] * n
    low = [0] * n
    component = [-1] * n
    on_stack = [False] * n
    stack: list[int] = []
    counter = 0
    for root in range(n):
        if index[root] >= 0:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack[v] = True
            if i < len(eps_out[v]):
                work.append((v, i + 1))
                u = eps_out[v][i][0]
                if index[u] < 0:
                    work.append((u, 0))
                elif on_stack[u]:
                    low[v] = min(low[v], index[u])
                continue
            if low[v] == index[v]:
                while True:
                    u = stack.pop()
                    on_stack[u] = False
                    component[u] = v
                    if u == v:
                        break
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return component


def _propagate_discards(
    b: Nfa,
    eps_out: list[list[tuple[int, frozenset[int]]]],
    vis_out: list[list[tuple[Action, int, frozenset[int], _Effects]]],
) -> list[frozenset[tuple[str, str]]]:
    """Discard sets flow forward: once late messages may exist, they may arrive at any later state."""
    sets: list[set[tuple[str, str]]] = [set() for _ in range(b.count)]
    work = []
    for s, seed in b.discard_seeds.items():
        sets[s] |= seed
        work.append(s)
    while work:
        s = work.pop()
        successors = [u for u, _ in eps_out[s]] + [u for _, u, _, _ in vis_out[s]]
        for u in successors:
            if not sets[s] <= sets[u]:
                sets[u] |= sets[s]
                work.append(u)
    return [frozenset(x) for x in sets]
