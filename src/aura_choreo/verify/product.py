"""The product of role machines as a transition system: state layout and the moves of one role.

A global state is one flat tuple: each role's machine state, then each channel's contents (a tuple of
message ids; one FIFO channel per ordered pair of roles that talk), then, per coin key and role
holding it, the decisions that role has still to follow, then per role with stragglers what it owes.
`Tables` precomputes the layout and per-state move tables; `Product.role_moves` is the transition
relation the explorer (`verify/explore.py`) searches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aura_choreo.verify.fsm import ActionKind, Machine

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


class Tables:
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
        self.other_slots: list[dict[int, tuple[int, ...]]] = [
            {r: tuple(self.slot[(ki, o)] for o in holders if o != r) for r in holders}
            for ki, holders in enumerate(self.key_holders)
        ]
        """Per coin key and holder: the slots of the key's other holders."""
        self.owe_slot: list[int] = []
        """Per role, the slot of its owed stragglers ((channel, label id), sorted), or -1."""
        width = n + c + len(self.slot)
        for m in machines:
            if any(t.owes or (t.collect is not None and t.collect.item < 0) for t in m.transitions):
                self.owe_slot.append(width)
                width += 1
            else:
                self.owe_slot.append(-1)
        self.reg_slot: list[int] = []
        """Per role, the slot of its collector register (an int: one bit per item received), or -1."""
        for m in machines:
            self.reg_slot.append(width if m.collectors else -1)
            width += 1 if m.collectors else 0
        self.width = width
        self.collect: dict[int, tuple[int, bool, int, bool]] = {}
        """Per step code of a collector's receive: (item bit, last variant, items needed, whether the
        last one empties the register, i.e. no completion step follows)."""
        self.collect_exit: dict[int, tuple[tuple[int, int], ...]] = {}
        """Per step code of a quorum's completion: each item's (channel, label id), owed if missing."""
        self.collect_only: list[list[bool]] = []
        """Per role and state: every outgoing step receives an item of one collector that needs all."""
        for r, m in enumerate(machines):
            for ti, t in enumerate(m.transitions):
                step = t.collect
                if step is None:
                    continue
                need, items = m.collectors[step.collector]
                if step.item >= 0:
                    self.collect[r + n * ti] = (step.item, step.last, need, need == len(items))
                else:
                    self.collect_exit[r + n * ti] = tuple(
                        (self.chan_index[(peer, m.role)], self.label_id(label)) for peer, label in items
                    )
            # A quorum's completion must be its state's only step: then whichever answers complete it,
            # the others are owed and dropped, and the runs meet again (see explore.py).
            settled = {
                step.collector
                for ti, t in enumerate(m.transitions)
                if (step := t.collect) is not None and step.item < 0 and len(m.outgoing[t.source]) > 1
            }
            only = []
            for q in range(m.state_count):
                outs = [m.transitions[ti].collect for ti in m.outgoing[q]]
                ids = {c.collector for c in outs if c is not None}
                only.append(
                    bool(outs)
                    and all(c is not None and c.item >= 0 for c in outs)
                    and len(ids) == 1
                    and not ids & settled
                )
            self.collect_only.append(only)
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
        for slot in self.reg_slot:
            if slot >= 0:
                state[slot] = 0
        return tuple(state)


Move = tuple[int, State]
"""(step code, successor). Code >= 0: role + n * transition index; < 0: a discard on a channel."""


class Product:
    """The moves of each role in a product state, with FIFO channels bounded by `bound`."""

    def __init__(self, machines: Sequence[Machine], bound: int):
        self.t = Tables(machines)
        self.n = len(machines)
        self.bound = max(1, bound)
        self.bound_blocked = False
        self.plans = [self._plans(r) for r in range(self.n)]
        self.checks = [self._checks(r) for r in range(self.n)]

    def _checks(self, r: int) -> list[tuple[tuple[int, ...], tuple[int, ...]] | bool]:
        """Per state of role r, how to tell cheaply whether it is stable: False when it can never move
        (no plan, no stragglers), True when only `is_stable` can tell (coins, stragglers), else the
        slots of the channels it listens on (each must be non-empty) and sends on (each below the bound)."""
        checks: list[tuple[tuple[int, ...], tuple[int, ...]] | bool] = []
        owes = self.t.owe_slot[r] >= 0
        for plan in self.plans[r]:
            if plan is None:
                checks.append(owes)
            elif owes or plan[5]:
                checks.append(True)
            else:
                checks.append((tuple(self.n + chan for chan in plan[1]), tuple(x[0] for x in plan[0])))
        return checks

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
        reg_slot = self.t.reg_slot[r]
        for chan in listen:
            ch = st[n + chan]
            if not ch:
                stable = False
                continue
            options = recvs.get(chan, _NONE).get(ch[0])
            if options and reg_slot >= 0:
                options = self._collect_options(st[reg_slot], options)
            if options:
                for target, code, *register in options:
                    new = list(st)
                    new[r] = target
                    new[n + chan] = ch[1:]
                    if register:
                        new[reg_slot] = register[0]
                    moves.append((code, tuple(new)))
            elif ch[0] in drops.get(chan, ()):
                new = list(st)
                new[n + chan] = ch[1:]
                moves.append((-1 - (r + n * chan), tuple(new)))
        for target, code in taus:
            new = list(st)
            new[r] = target
            stragglers = self.t.owes.get(code)
            if reg_slot >= 0 and code in self.t.collect_exit:
                register = st[reg_slot]
                stragglers = tuple(
                    entry for i, entry in enumerate(self.t.collect_exit[code]) if not register >> i & 1
                )
            if stragglers:
                new[owe_slot] = tuple(sorted((*owed, *stragglers)))
            for slot in self.t.leaves.get(code, ()):
                new[slot] = LEFT
            moves.append((code, tuple(new)))
        if coins:
            stable = self._coin_moves(st, r, coins, moves) and stable
        if reg_slot >= 0 and st[reg_slot]:
            # Any step but a collector's receive leaves the collector: its register starts empty again.
            collect = self.t.collect
            moves = [
                (code, succ if code < 0 or code in collect else (*succ[:reg_slot], 0, *succ[reg_slot + 1 :]))
                for code, succ in moves
            ]
        return moves, stable

    def _collect_options(
        self, register: int, options: tuple[tuple[int, int], ...]
    ) -> tuple[tuple[int, ...], ...]:
        """The receive options a collector's register allows, each with the register after it."""
        collect = self.t.collect
        allowed: list[tuple[int, ...]] = []
        for target, code in options:
            info = collect.get(code)
            if info is None:
                allowed.append((target, code))
                continue
            bit, last, need, clears = info
            if register >> bit & 1 or (register.bit_count() + 1 == need) != last:
                continue
            allowed.append((target, code, 0 if last and clears else register | 1 << bit))
        return tuple(allowed)

    def is_stable(self, st: State, r: int) -> bool:
        """Whether other roles' moves cannot change role r's enabled set: `role_moves(st, r)[1]`, with
        the same bookkeeping (a send or coin blocked by the bound is noted), but no successor built.
        The explorer asks this of every role and builds moves only for the one it picks (issue 19)."""
        n = self.n
        stable = True
        owe_slot = self.t.owe_slot[r]
        if owe_slot >= 0:
            for chan, _ in st[owe_slot]:
                if not st[n + chan]:
                    stable = False  # the sender may still append the straggler
        plan = self.plans[r][st[r]]
        if plan is None:
            return stable
        sends, listen, _, _, _, coins = plan
        bound = self.bound
        for slot, _, _, _ in sends:
            if len(st[slot]) >= bound:
                stable = False
                self.bound_blocked = True
        if stable:
            for chan in listen:
                if not st[n + chan]:
                    stable = False
                    break
        if coins:
            t = self.t
            for key, _, _, _ in coins:
                queue = st[t.slot[(key, r)]]
                if queue and queue != LEFT:
                    continue
                for slot in t.other_slots[key][r]:
                    queue = st[slot]
                    if queue != LEFT:
                        stable = False
                        if len(queue) >= bound:
                            self.bound_blocked = True
        return stable

    def _drops_head(self, st: State, chan: int, owed: tuple[tuple[int, int], ...]) -> bool:
        ch = st[self.n + chan]
        return bool(ch) and (chan, ch[0]) in owed

    def first_straggler_drop(self, st: State, r: int) -> Move | None:
        """Role r dropping the first straggler it owes that is at the head of its channel, if any."""
        n = self.n
        slot = self.t.owe_slot[r]
        owed = st[slot]
        for index, entry in enumerate(owed):
            chan = entry[0]
            ch = st[n + chan]
            if ch and ch[0] == entry[1]:
                new = list(st)
                new[n + chan] = ch[1:]
                new[slot] = owed[:index] + owed[index + 1 :]
                return (-1 - (r + n * chan), tuple(new))
        return None

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
            others = [s for s in t.other_slots[key][r] if st[s] != LEFT]
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
