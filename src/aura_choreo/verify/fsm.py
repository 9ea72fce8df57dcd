"""Communicating finite-state machines (SPEC §4.1): one per role, the verifier's input.

States are ints; transitions carry an `Action`: a send to or receive from a peer, an internal step
(`tau`: an internal choice, a timeout firing), or a shared-knowledge coin (`coin`: an `if` on shared
knowledge, a symbolic loop count, a saga outcome), which every role holding the same coin key decides
identically (the explorer enforces the agreement).

The textual form of an action (`Peer!Label`, `Peer?Label`, `tau:what`, `coin:key=label`) is the one
used in DOT and Mermaid exports and read back by the DOT parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property

from aura_choreo.diagnostics import UNKNOWN_SPAN, Span


class ActionKind(IntEnum):
    """What a transition does."""

    SEND = 0
    RECV = 1
    TAU = 2
    COIN = 3


@dataclass(frozen=True, slots=True)
class Action:
    """A transition label. `peer`/`label` for messages; `key`/`label` for coins; `label` for tau."""

    kind: ActionKind
    peer: str = ""
    label: str = ""
    key: str = ""

    @staticmethod
    def send(peer: str, label: str) -> Action:
        return Action(ActionKind.SEND, peer, label)

    @staticmethod
    def recv(peer: str, label: str) -> Action:
        return Action(ActionKind.RECV, peer, label)

    @staticmethod
    def tau(what: str = "") -> Action:
        return Action(ActionKind.TAU, label=what)

    @staticmethod
    def coin(key: str, label: str) -> Action:
        return Action(ActionKind.COIN, label=label, key=key)

    @property
    def is_message(self) -> bool:
        return self.kind in (ActionKind.SEND, ActionKind.RECV)

    def text(self) -> str:
        """The textual form used in DOT/Mermaid (`B!Ping`, `A?Pong`, `tau:timeout`, `coin:if x=then`)."""
        if self.kind is ActionKind.SEND:
            return f"{self.peer}!{self.label}"
        if self.kind is ActionKind.RECV:
            return f"{self.peer}?{self.label}"
        if self.kind is ActionKind.TAU:
            return f"tau:{self.label}" if self.label else "tau"
        return f"coin:{self.key}={self.label}"

    @staticmethod
    def parse(text: str) -> Action:
        """Read the textual form back; raises ValueError on anything else."""
        text = text.strip()
        if text == "tau" or text.startswith("tau:"):
            return Action.tau(text[4:].strip())
        if text.startswith("coin:"):
            key, sep, label = text[5:].rpartition("=")
            if not sep or not key.strip() or not label.strip():
                raise ValueError(f"a coin label is `coin:KEY=LABEL`, got `{text}`")
            return Action.coin(key.strip(), label.strip())
        marks = [i for i, ch in enumerate(text) if ch in "!?"]
        if not marks:
            raise ValueError(f"expected `Peer!Label`, `Peer?Label`, `tau` or `coin:KEY=LABEL`, got `{text}`")
        at = marks[0]
        peer, label = text[:at].strip(), text[at + 1 :].strip()
        if not peer or not label:
            raise ValueError(f"a message label needs a peer and a label, got `{text}`")
        return Action.send(peer, label) if text[at] == "!" else Action.recv(peer, label)


@dataclass(frozen=True, slots=True)
class Collect:
    """A step of a collector: a fan-in (`par` of one receive per sender) or quorum kept compact.

    A collector of n items (`Machine.collectors[collector]`: how many it needs, and the (peer, label)
    of each) would be 2^n states as an explicit machine; instead the role keeps a register of the
    items received so far (the explorer's), and these steps read it. `item` >= 0: receive that item,
    allowed once; `last` says whether this variant is the one that completes the collector (it is
    taken only when it does, the other only when it does not). `item` -1: a quorum's completion
    step, which owes the items not received. Any other step of the role empties the register.
    """

    collector: int
    item: int
    last: bool


@dataclass(frozen=True, slots=True)
class Transition:
    """`source --action--> target`; `branches` are the ids of the local-type branches it enters."""

    source: int
    action: Action
    target: int
    branches: frozenset[int] = frozenset()
    owes: tuple[tuple[str, str], ...] = ()
    """(peer, label) stragglers this step leaves behind, one entry per message (a quorum that is
    complete before every answer came): the role drops exactly these when they reach the head of
    their channel, before anything it expects there (as the run time does)."""
    leaves: frozenset[str] = frozenset()
    """Coin keys the role stops following here (a waiter timing out of a body with shared `if`s)."""
    collect: Collect | None = None
    """A step of a collector (a compact fan-in or quorum), see `Collect`."""


@dataclass(frozen=True, slots=True)
class BranchInfo:
    """A branch of a choose/offer/if in the role's local type, for reachability reports."""

    kind: str
    label: str
    choice: str = ""
    span: Span = field(default=UNKNOWN_SPAN, compare=False)
    origin: int = 0
    """Which step of the local type it comes from (unrolled loops compile a step several times)."""


@dataclass(frozen=True)
class Machine:
    """One role's communicating finite-state machine.

    `discards[state]` lists (peer, label) messages that the role silently drops when they reach the
    head of their channel while it is in `state` (late quorum answers, late messages of a timed-out or
    compensated block: the run time discards them, SPEC §1.6 / §4.5 / §4.6).
    """

    role: str
    state_count: int
    initial: int
    finals: frozenset[int]
    transitions: tuple[Transition, ...]
    discards: tuple[tuple[int, frozenset[tuple[str, str]]], ...] = ()
    branches: tuple[BranchInfo, ...] = ()
    protocol: str = ""
    spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)
    """Per state (when known), the statement of the local type a role in that state is about to take."""
    collectors: tuple[tuple[int, tuple[tuple[str, str], ...]], ...] = ()
    """Per collector (see `Collect`): how many items it needs, and each item's (peer, label)."""

    @cached_property
    def outgoing(self) -> tuple[tuple[int, ...], ...]:
        """For each state, the indices (into `transitions`) of its outgoing transitions."""
        out: list[list[int]] = [[] for _ in range(self.state_count)]
        for index, t in enumerate(self.transitions):
            out[t.source].append(index)
        return tuple(tuple(ts) for ts in out)

    @cached_property
    def discard_map(self) -> dict[int, frozenset[tuple[str, str]]]:
        return dict(self.discards)

    @cached_property
    def can_finish(self) -> tuple[bool, ...]:
        """For each state: can this machine, on its own, reach a final state from it?"""
        preds: list[list[int]] = [[] for _ in range(self.state_count)]
        for t in self.transitions:
            preds[t.target].append(t.source)
        ok = [False] * self.state_count
        work = list(self.finals)
        for s in work:
            ok[s] = True
        while work:
            s = work.pop()
            for p in preds[s]:
                if not ok[p]:
                    ok[p] = True
                    work.append(p)
        return tuple(ok)

    @cached_property
    def back_edges(self) -> frozenset[int]:
        """Transitions (indices) that close a cycle in a depth-first search from the initial state:
        every cycle of the machine contains at least one of them."""
        return self.back_edges_without(frozenset())

    def back_edges_without(self, free_from: frozenset[str]) -> frozenset[int]:
        """The back edges of a depth-first search (from the initial state) of the machine without its
        receives from the roles `free_from`: every cycle that has none of those receives contains one."""
        colour = [0] * self.state_count
        back: set[int] = set()
        roots = [self.initial, *range(self.state_count)]
        for root in roots:
            if colour[root]:
                continue
            stack: list[tuple[int, int]] = [(root, 0)]
            colour[root] = 1
            while stack:
                state, pos = stack[-1]
                outs = self.outgoing[state]
                if pos < len(outs):
                    stack[-1] = (state, pos + 1)
                    t = self.transitions[outs[pos]]
                    nxt = t.target
                    if t.collect is not None and nxt == state:
                        continue  # a collector's receive: at most once per item, never a real cycle
                    if free_from and t.action.kind is ActionKind.RECV and t.action.peer in free_from:
                        continue
                    if colour[nxt] == 1:
                        back.add(outs[pos])
                    elif colour[nxt] == 0:
                        colour[nxt] = 1
                        stack.append((nxt, 0))
                else:
                    colour[state] = 2
                    stack.pop()
        return frozenset(back)

    @property
    def has_cycle(self) -> bool:
        """Whether some state can reach itself (loops, recursion)."""
        return bool(self.back_edges)

    def peers(self) -> frozenset[str]:
        """Every role this machine sends to or receives from."""
        return frozenset(t.action.peer for t in self.transitions if t.action.is_message)

    def coin_keys(self) -> frozenset[str]:
        return frozenset(t.action.key for t in self.transitions if t.action.kind is ActionKind.COIN)

    def replace_role(self, role: str) -> Machine:
        """The same machine under another role name."""
        return Machine(
            role,
            self.state_count,
            self.initial,
            self.finals,
            self.transitions,
            self.discards,
            self.branches,
            self.protocol,
            self.spans,
            self.collectors,
        )
