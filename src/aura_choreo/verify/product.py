"""The product of role machines as a transition system: the moves of one role.

The layout of a global state (machine states, FIFO channels, coin queues, owed stragglers, collector
registers) and the precomputed move tables are `verify/tables.py`'s; `Product.role_moves` is the
transition relation the explorer (`verify/explore.py`) searches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aura_choreo.verify.fsm import Machine
from aura_choreo.verify.tables import LEFT, State, Tables

__all__ = ["LEFT", "Move", "Product", "State", "Tables"]

_NONE: dict[int, Any] = {}
_BUILT: dict[int, list[tuple[int, Any]]] = {}
_Plan = tuple[
    tuple[tuple[int, int, int, int], ...],
    tuple[int, ...],
    dict[int, dict[int, tuple[tuple[int, int], ...]]],
    dict[int, frozenset[int]],
    tuple[tuple[int, int], ...],
    list[tuple[int, int, int, int]],
]


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
        left = {key for m in machines for t in m.transitions for key in t.leaves}
        self.decides = [self._decides(r, left) for r in range(self.n)]
        self.waits = [self._waits(r) for r in range(self.n)]

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

    def _waits(self, r: int) -> list[tuple[int, ...] | None]:
        """Per state of role r: when it can only receive, the slots of the channels it reads (it has
        no move while they are all empty; none at all for a state without moves); else None."""
        if self.t.owe_slot[r] >= 0:
            return [None] * len(self.plans[r])
        waits: list[tuple[int, ...] | None] = []
        for plan in self.plans[r]:
            if plan is None:
                waits.append(())
            else:
                sends, listen, _, _, taus, coins = plan
                waits.append(None if sends or taus or coins else tuple(self.n + chan for chan in listen))
        return waits

    def all_moves(self, st: State, built: dict[int, list[Move]] = _BUILT) -> list[Move]:
        """Every role's enabled moves, in role order (reusing those in `built`), skipping without a
        call the roles that can only receive from empty channels (most of them, in most states)."""
        everything: list[Move] = []
        for r, waits in enumerate(self.waits):
            if r in built:
                everything.extend(built[r])
                continue
            slots = waits[st[r]]
            if slots is not None:
                for slot in slots:
                    if st[slot]:
                        break
                else:
                    continue
            everything.extend(self.role_moves(st, r)[0])
        return everything

    def _decides(self, r: int, left: set[str]) -> list[tuple[int, tuple[int, ...]] | None]:
        """Per state of role r: where its only moves are decisions on one coin key that no role ever
        leaves, the slot of its own queue of that key and those of the key's other holders; else None.

        With its own queue empty, such a role decides freely, and its decisions alone are a persistent
        set as far as the search needs one (issue 19): another holder deciding first only makes it
        follow the same outcome later, and every run where one does is matched, move for move, by the
        run where it decides that outcome first and the other holder follows it. Both reach the same
        state once it has followed; in between only its own state and queue differ, which no other
        role reads; and it cannot stop in between (following is never blocked). Runs without another
        holder's decision need no argument: the decisions commute with every other step (taking
        decisions from the head of a queue, leaving a block), and stay enabled, as no queue grows
        meanwhile. A role that may leave the key's block could come back and decide afresh, which
        breaks that match: such keys are excluded."""
        t = self.t
        decides: list[tuple[int, tuple[int, ...]] | None] = []
        for plan in self.plans[r]:
            entry = None
            if plan is not None and t.owe_slot[r] < 0 and t.reg_slot[r] < 0:
                sends, listen, _, _, taus, coins = plan
                keys = {key for key, _, _, _ in coins}
                if coins and not (sends or listen or taus) and len(keys) == 1:
                    key = keys.pop()
                    if t.keys[key] not in left:
                        entry = (t.slot[(key, r)], t.other_slots[key][r])
            decides.append(entry)
        return decides

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
            decides = self.decides[r][st[r]]
            if decides is not None and not st[decides[0]]:
                # Free to decide: stable unless a decision is blocked by the bound (see `_decides`).
                for slot in decides[1]:
                    if len(st[slot]) >= bound:
                        stable = False
                        self.bound_blocked = True
                return stable
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
        decides = self.decides[r][st[r]]
        free = decides is not None and not st[decides[0]]  # stable unless blocked (`_decides`)
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
            if others and not free:
                stable = False
            if any(len(st[s]) >= self.bound for s in others):
                self.bound_blocked = True
                stable = False
                continue
            new = list(st)
            new[r] = target
            new[slot] = ()  # back in the body after leaving it: it follows the key again
            for s in others:
                new[s] = (*new[s], label)
            moves.append((r + self.n * ti, tuple(new)))
        return stable
