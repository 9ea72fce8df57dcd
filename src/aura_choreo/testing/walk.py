"""Random walks of a whole protocol through its monitors, with no network and no clock.

Every role's local type runs in its own `Monitor` (the one interpreter of local types); messages
travel on FIFO channels per (sender, receiver). At each step a seeded RNG picks one enabled action of
some role: a send (payload values from the default behaviour, so shared `if`/`match` decisions have
values), a receipt of a message waiting in a channel, a choice, a try block's commit. Projection
tests use it to run generated protocols; the model checker's state machines are held equal to the
monitor on the events a walk records.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from aura_choreo.errors import RuntimeProtocolError
from aura_choreo.projection.local_types import (
    Branch,
    Choose,
    Continue,
    LocalType,
    Offer,
    Quorum,
    Recv,
    Send,
    iter_steps,
)
from aura_choreo.runtime.behaviour import DefaultBehaviour, ProtocolHints
from aura_choreo.runtime.expressions import free_names
from aura_choreo.runtime.monitor import Monitor, TryToken


@dataclass(frozen=True)
class WalkEvent:
    """One observable step of one role: `send`/`recv` with peer and label, or `choose` with label."""

    role: str
    kind: str
    peer: str
    label: str


@dataclass
class WalkResult:
    """The outcome of a walk: `problem` is empty when every role ended with nothing left unread."""

    events: list[WalkEvent] = field(default_factory=list)
    problem: str = ""
    stuck: dict[str, str] = field(default_factory=dict)
    """For a walk that cannot go on: what each unfinished role still expects (`Monitor.expected`)."""

    @property
    def ok(self) -> bool:
        return not self.problem

    def of(self, role: str) -> list[WalkEvent]:
        """The events of one role, in order."""
        return [e for e in self.events if e.role == role]


def walk(
    local_types: Mapping[str, LocalType],
    seed: int = 0,
    *,
    max_steps: int = 5_000,
    settle_after: int = 500,
) -> WalkResult:
    """Run every role's monitor together, choosing enabled actions at random (seeded).

    After `settle_after` steps, choices prefer a branch that does not `continue`, so loops end.
    """
    rng = random.Random(seed)
    hints = ProtocolHints.from_local_types(local_types.values())
    behaviour = DefaultBehaviour(seed, hints)
    monitors = {role: Monitor(lt, session=f"walk-{seed}") for role, lt in local_types.items()}
    channels: dict[tuple[str, str], deque[tuple[str, dict[str, object]]]] = {}
    result = WalkResult()
    try:
        for step in range(max_steps):
            actions = _enabled(monitors, channels)
            if not actions:
                break
            role, head, index = actions[rng.randrange(len(actions))]
            _take(role, head, index, monitors[role], channels, behaviour, rng, step >= settle_after, result)
        else:
            result.problem = f"did not end within {max_steps} steps"
    except RuntimeProtocolError as exc:
        result.problem = str(exc)
        return result
    _drain(monitors, channels)
    unfinished = {role: m.expected() for role, m in monitors.items() if not m.done}
    if unfinished and not result.problem:
        result.problem = "stuck: " + "; ".join(f"{r} expects {e}" for r, e in unfinished.items())
    result.stuck = unfinished
    left = [(k, label) for k, queue in channels.items() for label, _ in queue]
    if left and not result.problem:
        result.problem = f"messages left unread: {left}"
    return result


def _enabled(
    monitors: Mapping[str, Monitor], channels: Mapping[tuple[str, str], deque[tuple[str, dict[str, object]]]]
) -> list[tuple[str, object, int]]:
    """(role, next step, channel index of the message to take) for every action that can happen."""
    actions: list[tuple[str, object, int]] = []
    for role, monitor in monitors.items():
        heads = monitor.next_steps()
        # Parallel branches take their messages by label (as the endpoint routes them), so branches
        # sharing a channel do not block each other; otherwise a channel is strictly FIFO.
        by_label = len(heads) > 1
        for head in heads:
            if isinstance(head, Send | Choose | TryToken):
                actions.append((role, head, -1))
                continue
            senders = _senders(head)
            for sender in senders:
                queue = channels.get((sender, role))
                if not queue:
                    continue
                for index, (label, _) in enumerate(queue):
                    if monitor.accepts_receive(sender, label) or monitor.owes(sender, label):
                        actions.append((role, (sender, head), index))
                        break
                    if not by_label and not monitor.is_late(sender, label):
                        break  # FIFO: the head of the channel is not for this step
    return actions


def _senders(head: object) -> tuple[str, ...]:
    if isinstance(head, Recv | Offer):
        return (head.from_,)
    if isinstance(head, Quorum):
        return tuple(dict.fromkeys(r.from_ for r in head.body))
    return ()


def _take(
    role: str,
    head: object,
    index: int,
    monitor: Monitor,
    channels: dict[tuple[str, str], deque[tuple[str, dict[str, object]]]],
    behaviour: DefaultBehaviour,
    rng: random.Random,
    settle: bool,
    result: WalkResult,
) -> None:
    if isinstance(head, Send):
        # A field the role received is sent on unchanged (a relay), as the default behaviour does.
        payload = behaviour.payload(head.payload, monitor.env, _received(monitor.env))
        monitor.on_send(head.to, head.label, payload)
        channels.setdefault((role, head.to), deque()).append((head.label, payload))
        result.events.append(WalkEvent(role, "send", head.to, head.label))
    elif isinstance(head, Choose):
        label = _choose(head, monitor, behaviour, rng, settle)
        monitor.on_choose(label, head)  # this thread's choice, not another with the same label
        result.events.append(WalkEvent(role, "choose", "", label))
    elif isinstance(head, TryToken):
        monitor.on_try_outcome(head, True)
    else:
        assert isinstance(head, tuple)
        sender = head[0]
        queue = channels[(sender, role)]
        for position in range(index - 1, -1, -1):  # late messages ahead of it are dropped
            if monitor.is_late(sender, queue[position][0]):
                del queue[position]
                index -= 1
        label, payload = queue[index]
        del queue[index]
        if monitor.take_discard(sender, label):
            return
        monitor.on_receive(sender, label, payload)
        _received(monitor.env).update(payload)
        result.events.append(WalkEvent(role, "recv", sender, label))


def _received(env: dict[str, object]) -> dict[str, object]:
    known = env.setdefault(_RECEIVED_KEY, {})
    assert isinstance(known, dict)
    return known


def _drain(
    monitors: Mapping[str, Monitor], channels: Mapping[tuple[str, str], deque[tuple[str, dict[str, object]]]]
) -> None:
    """Drop what the roles drop at their end: quorum stragglers and late messages of left blocks."""
    for (sender, receiver), queue in channels.items():
        monitor = monitors[receiver]
        kept = [
            item
            for item in queue
            if not monitor.take_discard(sender, item[0]) and not monitor.is_late(sender, item[0])
        ]
        queue.clear()
        queue.extend(kept)


def _choose(
    step: Choose, monitor: Monitor, behaviour: DefaultBehaviour, rng: random.Random, settle: bool
) -> str:
    if settle:
        ending = [b for b in step.branches if not _continues(b)]
        if ending:
            return rng.choice(ending).label
    env = monitor.env
    names: set[str] = set(free_names(step.expr)) if step.expr is not None else set()
    for branch in step.branches:
        if branch.guard is not None:
            names |= free_names(branch.guard)
    supplied = _SUPPLIED_KEY
    given = env.setdefault(supplied, set())
    assert isinstance(given, set)
    for name in sorted(names):
        if name not in env or name in given:  # a value the role decides on: fresh at each decision
            env[name] = behaviour.value(name, env)
            given.add(name)
    return behaviour.decide(step, env)


_SUPPLIED_KEY, _RECEIVED_KEY = " supplied", " received"
"""Where a walk keeps, in a role's environment, the names its behaviour supplied and the fields it
received (keys that are not identifiers, so no expression can read them)."""


def _continues(branch: Branch) -> bool:
    return any(isinstance(step, Continue) for step in iter_steps(branch.body))
