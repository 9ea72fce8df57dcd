"""Symmetry reduction for role families: states equal up to a permutation of a family's instances.

A permutation `p` of the instances of a family F acts on a product state (`verify/tables.py`'s layout)
by moving each instance's components (its machine state, the channels between it and the roles
outside F, its coin queues) to the instance it is renamed to, and by mapping the machine state of
every other role `r` through `sigma_r(p)`, an automorphism of r's machine that renames the F peers of
its actions by `p`. When every such `p` is an automorphism of the whole product (it maps the initial
state to itself and every step `s -> s'` to a step `p(s) -> p(s')` that is the same step with the
instances renamed), the explorer may replace each successor by any state of its orbit (here: the
instances sorted by their components), and that is what `Symmetry.canonical` does.

The sufficient condition checked here (conservative: a family that fails any part is not reduced):
1. no machine of the protocol has a cycle, and no role has stragglers or collectors (quorums, large
   fan-ins): the product is acyclic and its state has no slot holding channel ids;
2. the instances' machines are equal (states, initial, finals, actions, discards, coin keys: the
   instance's name occurs nowhere in them), and they talk only to roles that are not family instances
   (so a channel belongs to one instance of one reduced family);
3. for every role `r` outside F and every adjacent transposition `(j j+1)` of F's instances (these
   generate every permutation), r's machine has an automorphism fixing its initial state that renames
   `F[j]` and `F[j+1]` in its actions: built by matching from the initial state, it is forced when no
   state has two transitions with one action (else the family is not reduced), and it must keep
   finals, discards and the coin keys a step stops following. A role that never talks to F has the
   identity.
Then each transposition, and so each permutation, maps steps to steps: a role's moves read only its
own machine state, the channels it reads and writes, and the coin queues of the keys it holds, all of
which are renamed together; channel bounds, labels and coin keys are not renamed.

Why the verdicts are the same as without the reduction. (a) Every finding is invariant under an
automorphism: a deadlock, an orphan message, an unspecified reception of `p(s)` is one of `s` with the
roles renamed. (b) The product is acyclic (1), so an unspecified reception (a role that only reads one
channel and cannot take its head: only it reads that channel, so nothing changes it until the run
stops) persists into a state without moves; every finding is witnessed by a state without moves.
(c) Such states are reached: by induction on the length of a path from an explored state `c` to a
stuck state `d`, the persistent set chosen at `c` holds a step to some `s` from which a stuck state
`d'` of the same kind is reached in one step fewer (the persistent-set theorem); the explorer keeps
`q(s)` for some automorphism `q`, from which `q(d')` is reached in as many steps. (d) Branch coverage
(W105) is closed under the group afterwards (`close_fired`): a step taken in an explored state is
taken, renamed, in every state of its orbit.

Counterexamples stay real runs: `Frame` records, along the BFS path, which instance each canonical
instance stands for, and every step and finding is renamed back (`verify/explore_findings.py`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aura_choreo.verify.fsm import Action, ActionKind, Machine
from aura_choreo.verify.tables import State, Tables

__all__ = ["Family", "Symmetry", "find_symmetry"]

_INSTANCE = re.compile(r"^(.+)\[(\d+)\]$")


@dataclass(frozen=True)
class Family:
    """One reduced family: its instances (role indices, by instance number) and the state slots each
    owns, in the same order for every instance."""

    name: str
    roles: tuple[int, ...]
    slots: tuple[tuple[int, ...], ...]
    movers: tuple[tuple[int, tuple[tuple[int, ...], ...]], ...]
    """Per role outside the family whose machine state a transposition changes: (role, per adjacent
    transposition (j j+1), its machine-state map)."""
    transitions: tuple[tuple[int, tuple[tuple[int, ...], ...]], ...]
    """Per such role: (role, per adjacent transposition, its transition-index map)."""


@dataclass(frozen=True)
class Symmetry:
    """The families whose instances the explorer may permute (see the module docstring)."""

    families: tuple[Family, ...]
    roles: tuple[str, ...]

    def canonical(self, st: State) -> tuple[State, tuple[tuple[int, ...], ...] | None]:
        """`st` with each family's instances sorted by their components, and per family the order
        taken (new instance i was instance order[i]); None when `st` was already sorted."""
        orders: list[tuple[int, ...]] | None = None
        new: list[object] | None = None
        for index, family in enumerate(self.families):
            slots = family.slots
            keys = [tuple([st[s] for s in own]) for own in slots]
            order = sorted(range(len(keys)), key=keys.__getitem__)
            if all(i == o for i, o in enumerate(order)):
                continue
            if new is None:
                new = list(st)
                orders = [tuple(range(len(f.roles))) for f in self.families]
            assert orders is not None
            orders[index] = tuple(order)
            for own, source in zip(slots, order, strict=True):
                for a, b in zip(own, slots[source], strict=True):
                    new[a] = st[b]
            if family.movers:
                for swap in _adjacent_swaps(order):
                    for r, maps in family.movers:
                        new[r] = maps[swap][new[r]]  # type: ignore[call-overload]
        if new is None:
            return st, None
        assert orders is not None
        return tuple(new), tuple(orders)

    def compose(
        self, frame: tuple[tuple[int, ...], ...], orders: tuple[tuple[int, ...], ...] | None
    ) -> tuple[tuple[int, ...], ...]:
        """The frame after a canonicalisation: instance i now stands for what `frame` gave order[i]."""
        if orders is None:
            return frame
        return tuple(tuple(f[o] for o in order) for f, order in zip(frame, orders, strict=True))

    def identity(self) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(range(len(f.roles))) for f in self.families)

    def renamer(self, frame: tuple[tuple[int, ...], ...]) -> Mapping[str, str]:
        """Role names in a canonical state -> the names they stand for in the real run."""
        names: dict[str, str] = {}
        for family, f in zip(self.families, frame, strict=True):
            for i, real in enumerate(f):
                if i != real:
                    names[self.roles[family.roles[i]]] = self.roles[family.roles[real]]
        return names

    def close_fired(self, fired: dict[str, frozenset[int]]) -> dict[str, frozenset[int]]:
        """The transitions taken in some run, closed under renaming the instances (W105). With two
        families a role may be renamed by both: repeated until nothing is added."""
        closed = dict(fired)
        while True:
            before = closed
            closed = dict(closed)
            for family in self.families:
                names = [self.roles[r] for r in family.roles]
                union = frozenset().union(*(closed.get(name, frozenset()) for name in names))
                for name in names:
                    closed[name] = union
                for r, maps in family.transitions:
                    name = self.roles[r]
                    taken = set(closed.get(name, frozenset()))
                    work = list(taken)
                    while work:
                        ti = work.pop()
                        for index_map in maps:
                            image = index_map[ti]
                            if image not in taken:
                                taken.add(image)
                                work.append(image)
                    closed[name] = frozenset(taken)
            if closed == before:
                return closed


def _adjacent_swaps(order: Sequence[int]) -> list[int]:
    """Adjacent transpositions (j stands for (j j+1)) that, applied in turn, put instance order[i] at
    position i (an insertion sort of the identity towards `order`)."""
    current = list(range(len(order)))
    swaps = []
    for i, wanted in enumerate(order):
        k = current.index(wanted, i)
        while k > i:
            current[k - 1], current[k] = current[k], current[k - 1]
            swaps.append(k - 1)
            k -= 1
    return swaps


def _rename(action: Action, names: Mapping[str, str]) -> Action:
    if action.kind in (ActionKind.SEND, ActionKind.RECV) and action.peer in names:
        return Action(action.kind, names[action.peer], action.label, action.key)
    return action


class _Indexed:
    """A machine's transitions by state and action id, built once for the matchings of one role."""

    def __init__(self, m: Machine):
        self.m = m
        self.ids: dict[Action, int] = {}
        self.by_state: list[dict[int, int]] = []
        self.forced = True
        for q in range(m.state_count):
            table = {self.ids.setdefault(m.transitions[ti].action, len(self.ids)): ti for ti in m.outgoing[q]}
            self.forced = self.forced and len(table) == len(m.outgoing[q])
            self.by_state.append(table)
        self.leaves = any(t.leaves for t in m.transitions)

    def automorphism(self, names: Mapping[str, str]) -> tuple[list[int], list[int]] | None:
        """The automorphism of the machine fixing its initial state that renames peers by `names`: its
        state map and transition map; None if there is none or the matching is not forced (a state
        with two transitions with one action)."""
        if not self.forced:
            return None
        m, by_state = self.m, self.by_state
        renamed = [self.ids.get(_rename(action, names), -1) for action in self.ids]
        discards = m.discard_map
        finals = m.finals
        states = list(range(m.state_count))
        moves = list(range(len(m.transitions)))
        mapped = {m.initial}
        images = {m.initial}
        stack = [m.initial]
        while stack:
            q = stack.pop()
            p = states[q]
            here, there = by_state[q], by_state[p]
            if len(here) != len(there) or (q in finals) != (p in finals):
                return None
            if discards and discards.get(p, frozenset()) != frozenset(
                (names.get(peer, peer), label) for peer, label in discards.get(q, frozenset())
            ):
                return None
            for action, ti in here.items():
                tj = there.get(renamed[action])
                if tj is None:
                    return None
                moves[ti] = tj
                target, image = m.transitions[ti].target, m.transitions[tj].target
                if self.leaves and m.transitions[ti].leaves != m.transitions[tj].leaves:
                    return None
                if target in mapped:
                    if states[target] != image:
                        return None
                elif image in images:
                    return None  # two states onto one
                else:
                    mapped.add(target)
                    images.add(image)
                    states[target] = image
                    stack.append(target)
        if mapped != images:
            return None  # the reachable part must map onto itself (unreachable states stay put)
        return states, moves


def _conjugates(swap: list[int], cycle: list[int], count: int) -> list[tuple[int, ...]]:
    """The maps of the transpositions (j j+1), j < count, from that of (0 1) and of the cycle
    i -> i+1: (j+1 j+2) is the cycle after (j j+1) after the cycle's inverse."""
    inverse = [0] * len(cycle)
    for x, y in enumerate(cycle):
        inverse[y] = x
    maps = [tuple(swap)]
    for _ in range(count - 1):
        last = maps[-1]
        maps.append(tuple([cycle[last[x]] for x in inverse]))
    return maps


def _same_machine(a: Machine, b: Machine) -> bool:
    return (
        a.state_count == b.state_count
        and len(a.transitions) == len(b.transitions)
        and a.initial == b.initial
        and a.finals == b.finals
        and a.discards == b.discards
        and a.collectors == b.collectors
        and all(
            (t.source, t.action, t.target, t.owes, t.leaves, t.collect)
            == (u.source, u.action, u.target, u.owes, u.leaves, u.collect)
            for t, u in zip(a.transitions, b.transitions, strict=True)
        )
    )


def _family(t: Tables, name: str, members: list[int], instances: set[str]) -> Family | None:
    machines, roles, n = t.machines, t.roles, len(t.machines)
    first = machines[members[0]]
    if not all(_same_machine(first, machines[r]) for r in members[1:]):
        return None
    shapes = []
    for r in members:
        me = roles[r]
        own: list[tuple[tuple[int, ...], int]] = [((-1,), r)]  # its machine state first
        for c, (sender, receiver) in enumerate(t.channels):
            if me in (sender, receiver):
                partner = receiver if sender == me else sender
                if partner in instances:
                    return None  # a channel between instances: it would belong to two of them
                own.append(((0 if sender == me else 1, roles.index(partner)), n + c))
        for (key, holder), slot in t.slot.items():
            if holder == r:
                own.append(((2, key), slot))
        own.sort()
        shapes.append(own)
    if any([k for k, _ in own] != [k for k, _ in shapes[0]] for own in shapes):
        return None
    movers: list[tuple[int, tuple[tuple[int, ...], ...]]] = []
    moved: list[tuple[int, tuple[tuple[int, ...], ...]]] = []
    names = [roles[r] for r in members]
    swap = {names[0]: names[1], names[1]: names[0]}
    rotate = {name: names[(i + 1) % len(names)] for i, name in enumerate(names)}
    for r, m in enumerate(machines):
        if r in members or not m.peers() & set(names):
            continue
        indexed = _Indexed(m)
        # Two generators of every permutation: (0 1) and the cycle; the other transpositions are
        # conjugates of (0 1), computed from these two maps instead of matched one by one.
        swapped, cycle = indexed.automorphism(swap), indexed.automorphism(rotate)
        if swapped is None or cycle is None:
            return None
        state_maps = _conjugates(swapped[0], cycle[0], len(members) - 1)
        if any(sm != tuple(range(m.state_count)) for sm in state_maps):
            movers.append((r, tuple(state_maps)))
        moved.append((r, tuple(_conjugates(swapped[1], cycle[1], len(members) - 1))))
    return Family(
        name,
        tuple(members),
        tuple(tuple(slot for _, slot in own) for own in shapes),
        tuple(movers),
        tuple(moved),
    )


def find_symmetry(t: Tables) -> Symmetry | None:
    """The families of `t`'s roles that meet the module docstring's condition; None if there are none."""
    machines = t.machines
    if any(m.has_cycle for m in machines) or any(slot >= 0 for slot in (*t.owe_slot, *t.reg_slot)):
        return None
    groups: dict[str, list[tuple[int, int]]] = {}
    for r, role in enumerate(t.roles):
        match = _INSTANCE.match(role)
        if match:
            groups.setdefault(match.group(1), []).append((int(match.group(2)), r))
    instances = {role for role in t.roles if _INSTANCE.match(role)}
    families = []
    for name, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        family = _family(t, name, [r for _, r in sorted(members)], instances)
        if family is not None:
            families.append(family)
    return Symmetry(tuple(families), tuple(t.roles)) if families else None
