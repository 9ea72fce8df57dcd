"""The layout of a product state and the per-role, per-state move tables (SPEC §4.2).

A global state is one flat tuple: each role's machine state, then each channel's contents (a tuple of
message ids; one FIFO channel per ordered pair of roles that talk), then, per coin key and role
holding it, the decisions that role has still to follow, then per role with stragglers what it owes,
then per role with collectors its register. `Tables` precomputes that layout and the tables
`verify/product.py`'s `Product.role_moves` reads in the hot loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aura_choreo.verify.fsm import ActionKind, Machine

LEFT = (-1,)
"""A coin queue's value for a role that left the block where the key is decided (timed out)."""

State = tuple[Any, ...]


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
