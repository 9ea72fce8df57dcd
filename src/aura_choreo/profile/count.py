"""Counting a protocol's messages, bytes and rounds on its worst-case path (one walk of the core body).

Every figure is an upper bound taken separately: at a choice, each count is the largest over the
branches (so the per-role figures may come from different branches). Counted loops multiply their
body by the count; a decided loop or `rec` counts one iteration and marks the profile `unbounded`.
Parallel branches, fan-ins and quorums count every message (a quorum's stragglers are still sent).
A timeout counts its body and then its alternative, a saga its body and then its compensation.

Rounds are the length of the longest causal chain of messages: a message from A to B is one round
after the last message A received, so a broadcast is one round whatever the group size, while a
ring of n hops is n rounds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from aura_choreo.profile.sizes import payload_bytes
from aura_choreo.semantics import core
from aura_choreo.semantics.expressions import int_value, substitute

_ITERATE = 32
"""Loop iterations walked for rounds; a longer loop's chain is extrapolated (it grows linearly)."""


@dataclass
class Tally:
    """Counts of a walk (mutable while walking, then read)."""

    messages: int = 0
    bytes: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    received: Counter[str] = field(default_factory=Counter)
    bytes_sent: Counter[str] = field(default_factory=Counter)
    bytes_received: Counter[str] = field(default_factory=Counter)
    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    pair_bytes: Counter[tuple[str, str]] = field(default_factory=Counter)
    depth: dict[str, int] = field(default_factory=dict)
    unbounded: set[str] = field(default_factory=set)
    """Why the counts are per iteration rather than bounds (decided loops, unknown counts)."""

    @property
    def rounds(self) -> int:
        return max(self.depth.values(), default=0)

    def add(self, other: Tally, times: int = 1) -> None:
        """Add `other`'s counts `times` over (depth is handled by the caller)."""
        self.messages += other.messages * times
        self.bytes += other.bytes * times
        for mine, theirs in (
            (self.sent, other.sent),
            (self.received, other.received),
            (self.bytes_sent, other.bytes_sent),
            (self.bytes_received, other.bytes_received),
        ):
            for key, value in theirs.items():
                mine[key] += value * times
        for pair, value in other.pairs.items():
            self.pairs[pair] += value * times
        for pair, value in other.pair_bytes.items():
            self.pair_bytes[pair] += value * times
        self.unbounded |= other.unbounded

    def worst(self, other: Tally) -> None:
        """Keep, count by count, the larger of this and `other` (the worse of two branches)."""
        self.messages = max(self.messages, other.messages)
        self.bytes = max(self.bytes, other.bytes)
        self.sent |= other.sent
        self.received |= other.received
        self.bytes_sent |= other.bytes_sent
        self.bytes_received |= other.bytes_received
        self.pairs |= other.pairs
        self.pair_bytes |= other.pair_bytes
        self.depth = _deepest(self.depth, other.depth)
        self.unbounded |= other.unbounded


def _deepest(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    return {r: max(a.get(r, 0), b.get(r, 0)) for r in {*a, *b}}


class BodyCounter:
    """Walks a core body; one method per core node kind (`_Message`, `_Choice`, ...)."""

    def __init__(self, params: Mapping[str, int]):
        self.params = dict(params)

    def walk(self, seq: core.CoreSeq, depth: Mapping[str, int] | None = None) -> Tally:
        tally = Tally(depth=dict(depth or {}))
        self._seq(seq, tally)
        return tally

    def _seq(self, seq: core.CoreSeq, tally: Tally) -> None:
        for stmt in seq:
            step = getattr(self, "_" + type(stmt).__name__, None)
            if step is not None:
                step(stmt, tally)

    def _Message(self, m: core.Message, t: Tally) -> None:
        size = payload_bytes(m.payload)
        t.messages += 1
        t.bytes += size
        t.sent[m.sender] += 1
        t.received[m.receiver] += 1
        t.bytes_sent[m.sender] += size
        t.bytes_received[m.receiver] += size
        t.pairs[(m.sender, m.receiver)] += 1
        t.pair_bytes[(m.sender, m.receiver)] += size
        t.depth[m.receiver] = max(t.depth.get(m.receiver, 0), t.depth.get(m.sender, 0) + 1)

    def _branches(self, bodies: list[core.CoreSeq], t: Tally) -> None:
        start = dict(t.depth)
        worst: Tally | None = None
        for body in bodies:
            branch = self.walk(body, start)
            if worst is None:
                worst = branch
            else:
                worst.worst(branch)
        if worst is not None:
            t.add(worst)
            t.depth = _deepest(t.depth, worst.depth)

    def _Choice(self, c: core.Choice, t: Tally) -> None:
        self._branches([b.body for b in c.branches], t)

    def _Conditional(self, c: core.Conditional, t: Tally) -> None:
        self._branches([b.body for b in c.branches], t)

    def _Parallel(self, p: core.Parallel, t: Tally) -> None:
        start = dict(t.depth)
        ends: list[dict[str, int]] = []
        for branch in p.branches:
            part = self.walk(branch, start)
            t.add(part)
            ends.append(part.depth)
        for end in ends:
            t.depth = _deepest(t.depth, end)

    def _Quorum(self, q: core.Quorum, t: Tally) -> None:
        self._Parallel(core.Parallel(tuple((m,) for m in q.messages)), t)

    def _Timeout(self, x: core.Timeout, t: Tally) -> None:
        self._seq(x.body, t)
        self._seq(x.alt, t)

    def _Try(self, x: core.Try, t: Tally) -> None:
        self._seq(x.body, t)
        self._seq(x.comp, t)

    def _Rec(self, r: core.Rec, t: Tally) -> None:
        body = self.walk(r.body, t.depth)
        t.add(body)
        t.depth = _deepest(t.depth, body.depth)
        if body.messages:
            t.unbounded.add(f"`rec {r.label}` (a decided loop) is counted once per iteration")

    def _CountedLoop(self, loop: core.CountedLoop, t: Tally) -> None:
        count = int_value(substitute(loop.count, self.params))
        if count is None:
            count = 1
            t.unbounded.add("a loop count that is not a known integer is counted once")
        if count <= 0:
            return
        once = self.walk(loop.body, t.depth)
        t.add(once, count)
        previous, depth = dict(t.depth), once.depth
        walked = 1
        while walked < min(count, _ITERATE):
            previous, depth = depth, self.walk(loop.body, depth).depth
            walked += 1
        if walked < count and walked > 1:  # the chain grows by the same step each iteration
            depth = {r: d + (count - walked) * (d - previous.get(r, 0)) for r, d in depth.items()}
        t.depth = _deepest(t.depth, depth)


def count_body(body: core.CoreSeq, params: Mapping[str, int]) -> Tally:
    """The worst-case counts of a protocol's core body under these parameter values."""
    return BodyCounter(params).walk(body)
