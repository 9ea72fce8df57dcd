"""Explicit-state exploration of the product of role machines (SPEC §4.2).

A global state is one flat tuple: each role's machine state, then each channel's contents (a tuple of
message ids; one FIFO channel per ordered pair of roles that talk), then, per coin key and role
holding it, the decisions that role has still to follow. Visited states are kept as 64-bit hashes
(hash compaction) mapped to their BFS index; the BFS parent links give shortest counterexamples. Two
distinct states share a hash with probability about n^2 / 2^65 (3e-8 for 10^6 states); the states
themselves are only kept for the BFS frontier, which is what keeps 10^6 states in a few hundred MiB.

Coins: the first role to evaluate the k-th decision of a key chooses freely and queues the outcome
for every other holder of the key; a role with a queued outcome must follow it. So all roles take the
same branch of a shared-knowledge `if` (and iterate a symbolic loop equally often).

Partial-order reduction (persistent sets). Actions of different roles are independent here: only the
owner moves its machine, a channel has one writer (appends at the tail) and one reader (pops the
head), and coin queues only grow at the tail for other roles. The enabled set of a role can still be
*changed* by others when it listens on an empty channel, has a send blocked by the bound, or has a free
coin choice. A role whose enabled set cannot change ("stable") gives a persistent set: all of its
enabled moves. That preserves every reachable deadlock (Godefroid). The cycle proviso is static: a
role's moves are never a reduced set if one of them is a back edge of a depth-first search of its
machine. Every cycle of the product moves some role around a cycle of its machine, hence through a
back edge, so every cycle of the reduced graph contains a fully expanded state; no action is ignored
forever, and unspecified receptions, branch coverage and "cannot reach end" are preserved too.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aura_choreo.verify.findings import Finding, FindingKind
from aura_choreo.verify.fsm import ActionKind, Machine
from aura_choreo.verify.trace import TraceStep

MAX_FINDINGS_PER_KIND = 10

LEFT = (-1,)
"""A coin queue's value for a role that left the block where the key is decided (timed out)."""

State = tuple[Any, ...]
_NONE: dict[int, Any] = {}
_Plan = tuple[
    tuple[tuple[int, int, int, int], ...],
    tuple[int, ...],
    dict[int, dict[int, tuple[tuple[int, int], ...]]],
    dict[int, frozenset[int]],
    tuple[tuple[int, int], ...],
    list[tuple[int, int, int, int]],
]


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


class _Tables:
    """Per-role, per-state move tables, precomputed so the hot loop only indexes lists."""

    def __init__(self, machines: Sequence[Machine]):
        self.roles = [m.role for m in machines]
        self.machines = list(machines)
        index = {r: i for i, r in enumerate(self.roles)}
        self.channels: list[tuple[str, str]] = []
        self.chan_index: dict[tuple[str, str], int] = {}
        self.labels: list[str] = []
        self.label_ids: dict[str, int] = {}
        for m in machines:
            for t in m.transitions:
                if t.action.kind is ActionKind.SEND:
                    self._chan(m.role, t.action.peer)
                elif t.action.kind is ActionKind.RECV:
                    self._chan(t.action.peer, m.role)
            for _, dropped in m.discards:
                for peer, _label in dropped:
                    self._chan(peer, m.role)
            for t in m.transitions:
                for peer, _label in t.owes:
                    self._chan(peer, m.role)
        keys = sorted({k for m in machines for k in m.coin_keys()})
        self.keys = keys
        key_index = {k: i for i, k in enumerate(keys)}
        self.key_holders = [[i for i, m in enumerate(machines) if k in m.coin_keys()] for k in keys]
        n, c = len(machines), len(self.channels)
        self.slot: dict[tuple[int, int], int] = {}
        for ki, holders in enumerate(self.key_holders):
            for r in holders:
                self.slot[(ki, r)] = n + c + len(self.slot)
        self.owe_slot: list[int] = []
        """Per role, the slot of its owed stragglers ((channel, label id), sorted), or -1."""
        width = n + c + len(self.slot)
        for m in machines:
            if any(t.owes for t in m.transitions):
                self.owe_slot.append(width)
                width += 1
            else:
                self.owe_slot.append(-1)
        self.width = width
        self.leaves: dict[int, tuple[int, ...]] = {}
        """Per step code of a step after which the role stops following some coin keys: their slots."""
        for r, m in enumerate(machines):
            for ti, t in enumerate(m.transitions):
                if t.leaves:
                    slots = (self.slot.get((key_index.get(k, -1), r)) for k in sorted(t.leaves))
                    self.leaves[r + n * ti] = tuple(slot for slot in slots if slot is not None)
        self.owes: dict[int, tuple[tuple[int, int], ...]] = {}
        """Per step code (role + n * transition) of a step that leaves stragglers: what it owes."""
        for r, m in enumerate(machines):
            for ti, t in enumerate(m.transitions):
                if t.owes:
                    self.owes[r + n * ti] = tuple(
                        (self.chan_index[(peer, m.role)], self.label_id(label)) for peer, label in t.owes
                    )
        self.sends: list[list[list[tuple[int, int, int, int]]]] = []
        self.recvs: list[list[dict[int, dict[int, list[tuple[int, int]]]]]] = []
        self.taus: list[list[list[tuple[int, int]]]] = []
        self.coins: list[list[list[tuple[int, int, int, int]]]] = []
        self.drops: list[list[dict[int, frozenset[int]]]] = []
        self.listen: list[list[tuple[int, ...]]] = []
        self.recv_only: list[list[int]] = []
        self.final: list[list[bool]] = []
        self.can_finish: list[list[bool]] = []
        for m in machines:
            self._role_tables(m, key_index)
        del index

    def _chan(self, sender: str, receiver: str) -> int:
        pair = (sender, receiver)
        if pair not in self.chan_index:
            self.chan_index[pair] = len(self.channels)
            self.channels.append(pair)
        return self.chan_index[pair]

    def label_id(self, label: str) -> int:
        if label not in self.label_ids:
            self.label_ids[label] = len(self.labels)
            self.labels.append(label)
        return self.label_ids[label]

    def _role_tables(self, m: Machine, key_index: dict[str, int]) -> None:
        sends, recvs, taus, coins, drops, listen, recv_only = [], [], [], [], [], [], []
        discard_map = m.discard_map
        for q in range(m.state_count):
            s_list: list[tuple[int, int, int, int]] = []
            r_map: dict[int, dict[int, list[tuple[int, int]]]] = {}
            t_list: list[tuple[int, int]] = []
            c_list: list[tuple[int, int, int, int]] = []
            for ti in m.outgoing[q]:
                t = m.transitions[ti]
                a = t.action
                if a.kind is ActionKind.SEND:
                    s_list.append((self.chan_index[(m.role, a.peer)], self.label_id(a.label), t.target, ti))
                elif a.kind is ActionKind.RECV:
                    chan = self.chan_index[(a.peer, m.role)]
                    r_map.setdefault(chan, {}).setdefault(self.label_id(a.label), []).append((t.target, ti))
                elif a.kind is ActionKind.TAU:
                    t_list.append((t.target, ti))
                else:
                    c_list.append((key_index[a.key], self.label_id(a.label), t.target, ti))
            d_map: dict[int, set[int]] = {}
            for peer, label in discard_map.get(q, frozenset()):
                chan = self.chan_index[(peer, m.role)]
                lid = self.label_id(label)
                if lid not in r_map.get(chan, {}):
                    d_map.setdefault(chan, set()).add(lid)
            sends.append(s_list)
            recvs.append(r_map)
            taus.append(t_list)
            coins.append(c_list)
            drops.append({ch: frozenset(ids) for ch, ids in d_map.items()})
            listen.append(tuple(sorted(set(r_map) | set(d_map))))
            only = -1
            if len(r_map) == 1 and not d_map and not s_list and not t_list and not c_list:
                only = next(iter(r_map))
            recv_only.append(only)
        self.sends.append(sends)
        self.recvs.append(recvs)
        self.taus.append(taus)
        self.coins.append(coins)
        self.drops.append(drops)
        self.listen.append(listen)
        self.recv_only.append(recv_only)
        self.final.append([q in m.finals for q in range(m.state_count)])
        self.can_finish.append(list(m.can_finish))

    def initial(self) -> State:
        state: list[object] = [m.initial for m in self.machines]
        state.extend(() for _ in range(self.width - len(self.machines)))
        return tuple(state)


Move = tuple[int, State]
"""(step code, successor). Code >= 0: role + n * transition index; < 0: a discard on a channel."""


class _Explorer:
    def __init__(self, machines: Sequence[Machine], bound: int, por: bool, max_states: int | None):
        self.t = _Tables(machines)
        self.n = len(machines)
        self.bound = max(1, bound)
        self.por = por
        self.max_states = max_states
        self.bound_blocked = False
        self.cyclic = any(m.has_cycle for m in machines)
        self.plans = [self._plans(r) for r in range(self.n)]
        self.back = frozenset(r + self.n * ti for r, m in enumerate(machines) for ti in m.back_edges)
        t = self.t
        self.receptions: list[list[tuple[int, frozenset[int]] | None]] = [
            [
                None if chan < 0 else (self.n + chan, frozenset(t.recvs[r][q][chan]))
                for q, chan in enumerate(t.recv_only[r])
            ]
            for r in range(self.n)
        ]

    def _plans(self, r: int) -> list[_Plan | None]:
        """Per state of role r: its moves with step codes and absolute slots; None when it has none."""
        t, n = self.t, self.n
        plans: list[_Plan | None] = []
        for q in range(t.machines[r].state_count):
            sends = tuple((n + chan, msg, target, r + n * ti) for chan, msg, target, ti in t.sends[r][q])
            recvs = {
                chan: {
                    label: tuple((target, r + n * ti) for target, ti in options)
                    for label, options in by_label.items()
                }
                for chan, by_label in t.recvs[r][q].items()
            }
            taus = tuple((target, r + n * ti) for target, ti in t.taus[r][q])
            coins = t.coins[r][q]
            listen = t.listen[r][q]
            empty = not (sends or listen or taus or coins)
            plans.append(None if empty else (sends, listen, recvs, t.drops[r][q], taus, coins))
        return plans

    # ------------------------------------------------------------ moves of one role

    def role_moves(self, st: State, r: int) -> tuple[list[Move], bool]:
        """The enabled moves of role r, and whether other roles' moves can change that set."""
        plan = self.plans[r][st[r]]
        moves: list[Move] = []
        stable = True
        owe_slot = self.t.owe_slot[r]
        owed: tuple[tuple[int, int], ...] = st[owe_slot] if owe_slot >= 0 else ()
        if owed:
            stable = self._straggler_moves(st, r, owed, moves)
        if plan is None:
            return moves, stable
        sends, listen, recvs, drops, taus, coins = plan
        n = self.n
        if owed:
            listen = tuple(chan for chan in listen if not self._drops_head(st, chan, owed))
        for slot, msg, target, code in sends:
            ch = st[slot]
            if len(ch) >= self.bound:
                stable = False
                self.bound_blocked = True
                continue
            new = list(st)
            new[r] = target
            new[slot] = (*ch, msg)
            moves.append((code, tuple(new)))
        for chan in listen:
            ch = st[n + chan]
            if not ch:
                stable = False
                continue
            options = recvs.get(chan, _NONE).get(ch[0])
            if options:
                for target, code in options:
                    new = list(st)
                    new[r] = target
                    new[n + chan] = ch[1:]
                    moves.append((code, tuple(new)))
            elif ch[0] in drops.get(chan, ()):
                new = list(st)
                new[n + chan] = ch[1:]
                moves.append((-1 - (r + n * chan), tuple(new)))
        for target, code in taus:
            new = list(st)
            new[r] = target
            stragglers = self.t.owes.get(code)
            if stragglers:
                new[owe_slot] = tuple(sorted((*owed, *stragglers)))
            for slot in self.t.leaves.get(code, ()):
                new[slot] = LEFT
            moves.append((code, tuple(new)))
        if coins:
            stable = self._coin_moves(st, r, coins, moves) and stable
        return moves, stable

    def _drops_head(self, st: State, chan: int, owed: tuple[tuple[int, int], ...]) -> bool:
        ch = st[self.n + chan]
        return bool(ch) and (chan, ch[0]) in owed

    def _straggler_moves(
        self, st: State, r: int, owed: tuple[tuple[int, int], ...], moves: list[Move]
    ) -> bool:
        """A straggler at the head of its channel is dropped before anything else is read there."""
        n = self.n
        stable = True
        for chan in sorted({chan for chan, _ in owed}):
            ch = st[n + chan]
            if not ch:
                stable = False  # the sender may still append the straggler
                continue
            entry = (chan, ch[0])
            if entry in owed:
                left = list(owed)
                left.remove(entry)
                new = list(st)
                new[n + chan] = ch[1:]
                new[self.t.owe_slot[r]] = tuple(left)
                moves.append((-1 - (r + n * chan), tuple(new)))
        return stable

    def _coin_moves(
        self, st: State, r: int, coins: list[tuple[int, int, int, int]], moves: list[Move]
    ) -> bool:
        t = self.t
        stable = True
        for key, label, target, ti in coins:
            slot = t.slot[(key, r)]
            queue = st[slot]
            if queue and queue != LEFT:
                if queue[0] == label:
                    new = list(st)
                    new[r] = target
                    new[slot] = queue[1:]
                    moves.append((r + self.n * ti, tuple(new)))
                continue
            others = [t.slot[(key, o)] for o in t.key_holders[key] if o != r and st[t.slot[(key, o)]] != LEFT]
            if others:
                stable = False
            if any(len(st[s]) >= self.bound for s in others):
                self.bound_blocked = True
                continue
            new = list(st)
            new[r] = target
            new[slot] = ()  # back in the body after leaving it: it follows the key again
            for s in others:
                new[s] = (*new[s], label)
            moves.append((r + self.n * ti, tuple(new)))
        return stable

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
        fired = [bytearray(len(m.transitions)) for m in self.t.machines]
        self._reports: dict[tuple[object, ...], tuple[FindingKind, int, str, tuple[str, ...]]] = {}
        self._per_kind: dict[FindingKind, int] = {}
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
        need_bits = [
            [(1 << r) if ok and not f else 0 for f, ok in zip(t.final[r], t.can_finish[r], strict=True)]
            for r in range(n)
        ]
        frontier: list[tuple[int, State]] = [(0, init)]
        limit = self.max_states if self.max_states is not None else 1 << 62
        transitions = 0
        complete = True
        while frontier and complete:
            next_frontier: list[tuple[int, State]] = []
            for idx, st in frontier:
                moves = self._choose_moves(st)
                self._last_reception_error = self._check_reception(st, idx)
                error_here = self._last_reception_error
                if not moves:
                    error_here = self._classify_stuck(st, idx) or error_here
                if self.cyclic:
                    edge_start.append(len(edges_to))
                    # Role bits are disjoint, so summing the per-role bits of the state is an OR.
                    fin = sum(map(list.__getitem__, final_bits, st))
                    masks_final.append(fin | (stuck_bit if error_here else 0))
                    masks_need.append(sum(map(list.__getitem__, need_bits, st)))
                for code, succ in moves:
                    transitions += 1
                    if code >= 0:
                        fired[code % n][code // n] = 1
                    h = hash(succ)
                    target = seen.get(h)
                    if target is None:
                        if len(seen) >= limit:
                            complete = False
                            break
                        target = len(seen)
                        seen[h] = target
                        parent.append(idx)
                        via.append(code)
                        next_frontier.append((target, succ))
                    if self.cyclic:
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
        return ExplorationResult(
            states=states,
            transitions=transitions,
            findings=tuple(findings),
            complete=complete,
            bound_reached=self.bound_blocked,
            fired={
                m.role: frozenset(i for i, f in enumerate(fired[r]) if f)
                for r, m in enumerate(self.t.machines)
            },
        )

    def _choose_moves(self, st: State) -> list[Move]:
        """A persistent set (one stable role's moves, none closing a local cycle) if any, else all."""
        everything: list[Move] = []
        back = self.back
        for r in range(self.n):
            moves, stable = self.role_moves(st, r)
            if self.por and stable and moves and not any(code in back for code, _ in moves):
                return moves
            everything.extend(moves)
        return everything

    # ------------------------------------------------------------ findings

    def _report(
        self, kind: FindingKind, signature: tuple[object, ...], idx: int, message: str, roles: tuple[str, ...]
    ) -> None:
        key = (kind, *signature)
        if key in self._reports or self._per_kind.get(kind, 0) >= MAX_FINDINGS_PER_KIND:
            return
        self._per_kind[kind] = self._per_kind.get(kind, 0) + 1
        self._reports[key] = (kind, idx, message, roles)

    def _check_reception(self, st: State, idx: int) -> bool:
        """Unspecified reception: a role that only reads one channel, whose head it cannot take."""
        found = False
        for r, table in enumerate(self.receptions):
            entry = table[st[r]]
            if entry is None:
                continue
            ch = st[entry[0]]
            if ch and ch[0] not in entry[1]:
                owe_slot = self.t.owe_slot[r]
                if owe_slot >= 0 and (entry[0] - self.n, ch[0]) in st[owe_slot]:
                    continue  # a straggler: dropped, not a wrong message
                found = True
                self._report_reception(st, idx, r)
        return found

    def _report_reception(self, st: State, idx: int, r: int) -> None:
        t, n = self.t, self.n
        q = st[r]
        chan = t.recv_only[r][q]
        head = st[n + chan][0]
        sender = t.channels[chan][0]
        expected = ", ".join(sorted(t.labels[i] for i in t.recvs[r][q][chan]))
        self._report(
            FindingKind.UNSPECIFIED_RECEPTION,
            (r, chan, head),
            idx,
            f"{t.roles[r]} receives `{t.labels[head]}` from {sender} but can only take {expected} there",
            (t.roles[r], sender),
        )

    def _classify_stuck(self, st: State, idx: int) -> bool:
        """A state with no move: fine if every role ended with empty channels; else report. Error?"""
        t, n = self.t, self.n
        waiting = []
        for r in range(n):
            q = st[r]
            if not t.final[r][q]:
                waiting.append(r)
        pending = [(c, ch) for c, ch in enumerate(st[n : n + len(t.channels)]) if ch]
        if not waiting and not pending:
            return False
        if self.bound_blocked and self._any_bound_blocked(st):
            self._report(
                FindingKind.BOUND_REACHED,
                (),
                idx,
                f"every role is blocked while a channel holds {self.bound} messages (the bound); whether"
                " the protocol could go on with more buffering was not explored (raise --bound)",
                tuple(t.roles[r] for r in waiting),
            )
            return True
        if self._last_reception_error:
            return True
        if not waiting:
            text = "; ".join(
                f"{t.channels[c][0]} -> {t.channels[c][1]}: " + ", ".join(t.labels[m] for m in ch)
                for c, ch in pending
            )
            roles = tuple(sorted({r for c, _ in pending for r in t.channels[c]}))
            self._report(
                FindingKind.ORPHAN_MESSAGE,
                tuple(c for c, _ in pending),
                idx,
                f"every role ended but messages were never read: {text}",
                roles,
            )
            return True
        descriptions = [self._waits_for(st, r) for r in waiting]
        self._report(
            FindingKind.DEADLOCK,
            tuple(waiting),
            idx,
            "deadlock: " + "; ".join(descriptions),
            tuple(t.roles[r] for r in waiting),
        )
        return True

    def _any_bound_blocked(self, st: State) -> bool:
        t, n = self.t, self.n
        for r in range(n):
            q = st[r]
            for chan, _, _, _ in t.sends[r][q]:
                if len(st[n + chan]) >= self.bound:
                    return True
        return False

    def _waits_for(self, st: State, r: int) -> str:
        t = self.t
        q = st[r]
        m = t.machines[r]
        wanted = [m.transitions[i].action.text() for i in m.outgoing[q]]
        if not wanted:
            return f"{t.roles[r]} is stuck"
        return f"{t.roles[r]} waits for {' or '.join(wanted)}"

    def _livelocks(
        self,
        states: int,
        edge_start: array[int],
        edges_to: array[int],
        masks_final: array[int],
        masks_need: array[int],
    ) -> None:
        """Per role: the first state (BFS order) from which it can no longer reach its end."""
        n = self.n
        stuck_bit = 1 << n
        counts = array("q", bytes(8 * (states + 1)))
        for target in edges_to:
            counts[target + 1] += 1
        for i in range(states):
            counts[i + 1] += counts[i]
        preds = array("q", bytes(8 * len(edges_to)))
        fill = array("q", counts)
        for s in range(states):
            for e in range(edge_start[s], edge_start[s + 1]):
                target = edges_to[e]
                preds[fill[target]] = s
                fill[target] += 1
        co = array("q", masks_final)
        work = [s for s in range(states) if co[s]]
        while work:
            s = work.pop()
            bits = co[s]
            for e in range(counts[s], counts[s + 1]):
                p = preds[e]
                merged = co[p] | bits
                if merged != co[p]:
                    co[p] = merged
                    work.append(p)
        reported = 0
        for s in range(states):
            lost = masks_need[s] & ~co[s]
            if not lost or co[s] & stuck_bit:
                continue
            for r in range(n):
                if lost & (1 << r) and not reported & (1 << r):
                    reported |= 1 << r
                    role = self.t.roles[r]
                    self._report(
                        FindingKind.CANNOT_REACH_END,
                        (r,),
                        s,
                        f"{role} can no longer reach its end: every continuation keeps it waiting"
                        " or looping (a loop nobody can leave?)",
                        (role,),
                    )

    def _findings(self) -> list[Finding]:
        findings = []
        for kind, idx, message, roles in self._reports.values():
            findings.append(Finding(kind, message, roles, self.path(idx), tuple(self.t.roles)))
        return findings

    def path(self, idx: int) -> tuple[TraceStep, ...]:
        """The steps from the initial state to state `idx` (shortest in the explored graph)."""
        codes = []
        while idx > 0:
            codes.append(self.via[idx])
            idx = self.parent[idx]
        steps = []
        state = self.t.initial()
        n = self.n
        for code in reversed(codes):
            if code < 0:
                raw = -1 - code
                role, chan = raw % n, raw // n
                late = self.t.labels[state[n + chan][0]]
                steps.append(TraceStep(self.t.roles[role], "discard", self.t.channels[chan][0], late))
            else:
                role = code % n
                steps.append(self.step_of(code))
            moves, _ = self.role_moves(state, role)
            state = next(succ for c, succ in moves if c == code)
        return tuple(steps)

    def step_of(self, code: int) -> TraceStep:
        t, n = self.t, self.n
        if code < 0:
            raw = -1 - code
            r, chan = raw % n, raw // n
            return TraceStep(t.roles[r], "discard", t.channels[chan][0], "a late message")
        r, ti = code % n, code // n
        a = t.machines[r].transitions[ti].action
        if a.kind is ActionKind.SEND:
            return TraceStep(t.roles[r], "send", a.peer, a.label)
        if a.kind is ActionKind.RECV:
            return TraceStep(t.roles[r], "recv", a.peer, a.label)
        if a.kind is ActionKind.COIN:
            return TraceStep(t.roles[r], "coin", a.key, a.label)
        return TraceStep(t.roles[r], "tau", "", a.label)


def explore(
    machines: Sequence[Machine], *, bound: int = 4, por: bool = True, max_states: int | None = None
) -> ExplorationResult:
    """Explore the product of `machines` (one per role) with FIFO channels bounded by `bound`."""
    return _Explorer(machines, bound, por, max_states).run()
