"""What the explorer (`verify/explore.py`) reports: unspecified receptions, deadlocks, orphan messages,
a full bound, roles that can no longer reach their end, each with its shortest counterexample.

`Diagnosis` is the part of the explorer that looks at a state (or, for livelocks, the whole explored
graph) and records findings, at most `MAX_FINDINGS_PER_KIND` of each kind and one per signature; the
search itself and its partial-order reduction stay in `explore.py`. The BFS parent links (`parent`,
`via`) the search fills in turn a finding's state index into its trace. Under symmetry reduction the
explored states are canonical forms (`verify/symmetry.py`): the trace is rebuilt through them while
tracking which real instance each canonical one stands for, and its steps and the finding's roles and
message are renamed to those, so every counterexample is a run of the real product.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Mapping, Sequence

from aura_choreo.verify.findings import Finding, FindingKind
from aura_choreo.verify.fsm import ActionKind, Machine
from aura_choreo.verify.product import Product, State
from aura_choreo.verify.symmetry import Symmetry
from aura_choreo.verify.trace import TraceStep

__all__ = ["MAX_FINDINGS_PER_KIND", "Diagnosis"]

MAX_FINDINGS_PER_KIND = 10


class Diagnosis(Product):
    """The product's moves plus the findings of one exploration (see the module docstring)."""

    def __init__(self, machines: Sequence[Machine], bound: int):
        super().__init__(machines, bound)
        t = self.t
        self.receptions: list[list[tuple[int, frozenset[int]] | None]] = [
            [
                None if chan < 0 else (self.n + chan, frozenset(t.recvs[r][q][chan]))
                for q, chan in enumerate(t.recv_only[r])
            ]
            for r in range(self.n)
        ]
        self.watched = [
            [
                entry is not None or (t.reg_slot[r] >= 0 and only)
                for entry, only in zip(entries, t.collect_only[r], strict=True)
            ]
            for r, entries in enumerate(self.receptions)
        ]
        """Per role and state: whether `_check_reception` can find anything there (else it is skipped)."""
        self._reports: dict[tuple[object, ...], tuple[FindingKind, int, str, tuple[str, ...]]] = {}
        self._per_kind: dict[FindingKind, int] = {}
        self._last_reception_error = False
        """Whether the state being expanded has an unspecified reception (then it is not also stuck)."""
        self.parent = array("q", [-1])
        """Per explored state (BFS index), the index of the state that discovered it."""
        self.via = array("q", [0])
        """Per explored state, the step code that led to it from its parent."""
        self.symmetry: Symmetry | None = None
        """Set by the explorer when it explores canonical forms."""

    # ------------------------------------------------------------ findings

    def _report(
        self, kind: FindingKind, signature: tuple[object, ...], idx: int, message: str, roles: tuple[str, ...]
    ) -> None:
        key = (kind, *signature)
        if key in self._reports or self._per_kind.get(kind, 0) >= MAX_FINDINGS_PER_KIND:
            return
        self._per_kind[kind] = self._per_kind.get(kind, 0) + 1
        self._reports[key] = (kind, idx, message, roles)

    def _check_reception(self, st: State, idx: int, roles: Iterable[int]) -> frozenset[int]:
        """Unspecified reception: a role that only reads one channel, whose head it cannot take.
        The roles (of `roles`) that have one in `st`."""
        found: list[int] = []
        receptions = self.receptions
        reg_slot = self.t.reg_slot
        for r in roles:
            entry = receptions[r][st[r]]
            if entry is None:
                if reg_slot[r] >= 0 and self._check_collector_reception(st, idx, r):
                    found.append(r)
                continue
            ch = st[entry[0]]
            if ch and ch[0] not in entry[1]:
                owe_slot = self.t.owe_slot[r]
                if owe_slot >= 0 and (entry[0] - self.n, ch[0]) in st[owe_slot]:
                    continue  # a straggler: dropped, not a wrong message
                found.append(r)
                self._report_reception(st, idx, r)
        return frozenset(found)

    def _check_collector_reception(self, st: State, idx: int, r: int) -> bool:
        """A fan-in with one answer left reads only that channel: a wrong head there is an
        unspecified reception, as in the explicit machine's state for that subset."""
        t, n = self.t, self.n
        q = st[r]
        register = st[t.reg_slot[r]]
        if not t.collect_only[r][q] or not register:
            return False
        machine = t.machines[r]
        step = machine.transitions[machine.outgoing[q][0]].collect
        assert step is not None
        items = machine.collectors[step.collector][1]
        missing = [i for i in range(len(items)) if not register >> i & 1]
        if len(missing) != 1:
            return False
        peer, label = items[missing[0]]
        chan = t.chan_index[(peer, machine.role)]
        ch = st[n + chan]
        if not ch or t.labels[ch[0]] == label or ch[0] in t.drops[r][q].get(chan, ()):
            return False
        if t.owe_slot[r] >= 0 and (chan, ch[0]) in st[t.owe_slot[r]]:
            return False  # a straggler: dropped, not a wrong message
        self._report(
            FindingKind.UNSPECIFIED_RECEPTION,
            (r, chan, ch[0]),
            idx,
            f"{t.roles[r]} receives `{t.labels[ch[0]]}` from {peer} but can only take {label} there",
            (t.roles[r], peer),
        )
        return True

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
            steps, names = self.trace(idx)
            if names:
                message = _renamed(message, names)
                roles = tuple(names.get(role, role) for role in roles)
            findings.append(Finding(kind, message, roles, steps, tuple(self.t.roles)))
        return findings

    def path(self, idx: int) -> tuple[TraceStep, ...]:
        """The steps from the initial state to state `idx` (shortest in the explored graph)."""
        return self.trace(idx)[0]

    def trace(self, idx: int) -> tuple[tuple[TraceStep, ...], Mapping[str, str]]:
        """`path(idx)`, and the real role each role of state `idx` stands for where they differ
        (symmetry reduction explores canonical forms, see the module docstring)."""
        codes = []
        while idx > 0:
            codes.append(self.via[idx])
            idx = self.parent[idx]
        steps = []
        state = self.t.initial()
        n = self.n
        symmetry = self.symmetry
        frame = symmetry.identity() if symmetry is not None else ()
        names: Mapping[str, str] = {}
        for code in reversed(codes):
            if code < 0:
                raw = -1 - code
                role, chan = raw % n, raw // n
                late = self.t.labels[state[n + chan][0]]
                step = TraceStep(self.t.roles[role], "discard", self.t.channels[chan][0], late)
            else:
                role = code % n
                step = self.step_of(code)
            if names:
                step = TraceStep(
                    names.get(step.role, step.role), step.kind, names.get(step.peer, step.peer), step.label
                )
            steps.append(step)
            moves, _ = self.role_moves(state, role)
            state = next(succ for c, succ in moves if c == code)
            if symmetry is not None:
                state, orders = symmetry.canonical(state)
                if orders is not None:
                    frame = symmetry.compose(frame, orders)
                    names = symmetry.renamer(frame)
        return tuple(steps), names

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


def _renamed(text: str, names: Mapping[str, str]) -> str:
    """`text` with each role name of `names` (whole names only) replaced at once."""
    pattern = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return re.sub(rf"(?<![\w\]])(?:{pattern})", lambda m: names[m.group(0)], text)
