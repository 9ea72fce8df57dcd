"""Trace checking after the fact: does a recorded trace follow the global protocol?

Two independent checks, per session:
- each role's events are replayed through the runtime's sans-I/O `Monitor` (the machine the live
  endpoints use). A trace carries labels, not payload values, so an `if`/`match` the monitor cannot
  evaluate takes the branch that fits the next event, backtracking if that guess fails later;
- global consistency (`trace_channels`): every message received (or discarded as a straggler, or
  dropped as late) was sent, arrived once, and messages of one label on one (sender, receiver) channel
  arrive in the order they were sent. "Before" is causal (`trace_merge`): each role's events keep their
  order, the order between roles' events is free, so role traces concatenated in any order check.
With `complete=True` (the default) every role must also have reached its end and every sent message
must have arrived; a trace of a run that failed on purpose is checked with `complete=False`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from aura_choreo.errors import ProtocolViolation, RuntimeProtocolError
from aura_choreo.projection.local_types import Branch, Choose, If, LocalType, Offer, Recv, Send, iter_steps
from aura_choreo.projection.protocol_like import ProtocolSource, resolve_protocol
from aura_choreo.runtime.monitor import Monitor, TimeoutToken, TryToken
from aura_choreo.runtime.saga import COMMIT, COMPENSATE, DONE, FAILED
from aura_choreo.runtime.trace import Trace, TraceEvent
from aura_choreo.testing.trace_channels import check_channels
from aura_choreo.testing.trace_issues import TraceIssue, TraceReport
from aura_choreo.testing.trace_merge import causal_order

SAGA_CONTROL = frozenset({COMMIT, COMPENSATE, DONE, FAILED})
EVENT_KINDS = frozenset({"send", "recv", "choose", "local", "discard", "late", "timeout"})
"""The kinds of event a runtime trace records (`aura_choreo.runtime.trace`)."""

__all__ = ["EVENT_KINDS", "SAGA_CONTROL", "TraceIssue", "TraceReport", "check_trace"]
_MAX_REPLAYS = 2_000


def check_trace(
    protocol: ProtocolSource,
    trace: Trace | Iterable[TraceEvent],
    *,
    complete: bool = True,
    params: Mapping[str, object] | None = None,
) -> TraceReport:
    """Check `trace` (one or many sessions) against `protocol`.

    `protocol` is a loaded `aura_choreo.Protocol` or local types (a role -> LocalType mapping or an
    iterable of them); `params` adds or overrides parameter values (loop counts, family sizes).
    """
    resolved = resolve_protocol(protocol)
    local_types, name = resolved.local_types, resolved.name
    env: dict[str, object] = {**resolved.params, **(params or {})}
    events = list(trace)
    by_session: dict[str, list[tuple[int, TraceEvent]]] = defaultdict(list)
    for index, event in enumerate(events):
        by_session[event.session].append((index, event))
    issues: list[TraceIssue] = []
    for session, indexed in by_session.items():
        issues.extend(_check_session(session, indexed, local_types, name, env, complete))
    if complete and not events:
        # An empty trace is a complete run only if every role can end without an event (no steps, or
        # only loops that run zero times): the same replay as for any trace, of no events.
        busy = [
            role
            for role, lt in local_types.items()
            if isinstance(_replay_role("", lt, [], env, True), TraceIssue)
        ]
        if busy:
            message = f"the trace has no events, but {', '.join(busy)} have steps to take"
            issues.append(TraceIssue("", message))
    return TraceReport(tuple(issues), tuple(by_session), len(events))


def _check_session(
    session: str,
    indexed: list[tuple[int, TraceEvent]],
    local_types: Mapping[str, LocalType],
    protocol_name: str,
    env: Mapping[str, object],
    complete: bool,
) -> list[TraceIssue]:
    issues: list[TraceIssue] = []
    per_role: dict[str, list[tuple[int, TraceEvent]]] = defaultdict(list)
    for index, event in indexed:
        if event.protocol and protocol_name and event.protocol != protocol_name:
            issues.append(
                TraceIssue(
                    session, f"event of protocol {event.protocol}, not {protocol_name}", event.role, index
                )
            )
            return issues
        if event.role not in local_types:
            issues.append(TraceIssue(session, f"unknown role {event.role!r}", event.role, index))
            continue
        if event.kind not in EVENT_KINDS:
            kinds = ", ".join(sorted(EVENT_KINDS))
            issues.append(
                TraceIssue(session, f"unknown event kind {event.kind!r} (known: {kinds})", event.role, index)
            )
            continue
        per_role[event.role].append((index, event))
    given_up: set[tuple[str, str, str]] = set()
    for role, local_type in local_types.items():
        replayed = _replay_role(session, local_type, per_role.get(role, []), env, complete)
        if isinstance(replayed, TraceIssue):
            issues.append(replayed)
        else:
            given_up.update((sender, role, label) for sender, label in replayed.late)
    # Roles' events relative to each other carry no order (SPEC 5.6: the roles' traces, concatenated,
    # pass): the channels are checked in a causal order that keeps every role's own order.
    issues.extend(check_channels(session, causal_order(per_role.values()), complete, given_up))
    return issues


# ---------------------------------------------------------------------------- per-role replay


class _BranchGuesser:
    """Resolves the `if`s a replay monitor cannot evaluate (a trace has no payload values).

    The first decisions follow `forced` (branch indices); later ones take the branch that best fits
    the event being replayed (`lookahead`). Every decision is recorded with the alternatives left, so
    a failed replay can be retried with another choice (see `_replay_role`).
    """

    def __init__(self, forced: list[int]) -> None:
        self._forced = forced
        self.lookahead: TraceEvent | None = None
        self.decisions: list[tuple[int, tuple[int, ...]]] = []
        """(branch taken, untried alternatives in order of preference) for each decision."""

    def __call__(self, step: If) -> Branch | None:
        n = len(self.decisions)
        if n < len(self._forced):
            self.decisions.append((self._forced[n], ()))
            return step.branches[self._forced[n]]
        order = _preferred_branches(step, self.lookahead)
        self.decisions.append((order[0], tuple(order[1:])))
        return step.branches[order[0]]


def _preferred_branches(step: If, event: TraceEvent | None) -> list[int]:
    """Branch indices, those whose first observable step fits `event` first, then empty ones, then the rest.

    A value that matches no arm would let the role skip the match at run time; a trace check does not
    accept that silently (it usually means a value the protocol's arms do not cover), so "no branch"
    is never an option.
    """

    def rank(branch: Branch) -> int:
        first = next(
            (s for s in iter_steps(branch.body) if isinstance(s, Send | Recv | Offer | Choose)), None
        )
        if first is None:
            return 1
        if event is None:
            return 2
        if isinstance(first, Send):
            fits = event.kind == "send" and (first.to, first.label) == (event.receiver, event.label)
        elif isinstance(first, Recv):
            fits = event.kind == "recv" and (first.from_, first.label) == (event.sender, event.label)
        elif isinstance(first, Offer):
            fits = event.kind == "recv" and first.from_ == event.sender
        else:
            fits = event.kind == "choose" and event.label in {b.label for b in first.branches}
        return 0 if fits else 2

    return sorted(range(len(step.branches)), key=lambda i: rank(step.branches[i]))


@dataclass(frozen=True)
class _Outcome:
    progress: int
    """How many events replayed before the failure (len(events) on success)."""
    issue: str | None = None
    decisions: tuple[tuple[int, tuple[int, ...]], ...] = ()
    late: frozenset[tuple[str, str]] = frozenset()
    """(sender, label) of messages the role gave up on (an expired timeout, a compensated saga, quorum
    stragglers that had not arrived when it finished)."""


def _replay_role(
    session: str,
    local_type: LocalType,
    events: Sequence[tuple[int, TraceEvent]],
    env: Mapping[str, object],
    complete: bool,
) -> TraceIssue | _Outcome:
    """The successful replay of one role's events, or the issue of the replay that got furthest.

    Backtracking over the guessed `if` decisions: a failed replay pushes, for each decision it guessed,
    a retry taking the next alternative there (the latest decision is retried first). A good guess
    (the common case) needs a single replay.
    """
    pending: list[list[int]] = [[]]
    best: _Outcome | None = None
    replays = 0
    while pending and replays < _MAX_REPLAYS:
        forced = pending.pop()
        replays += 1
        outcome = _replay_once(session, local_type, events, dict(env), forced, complete)
        if outcome.issue is None:
            return outcome
        if best is None or outcome.progress > best.progress:
            best = outcome
        taken = [choice for choice, _ in outcome.decisions]
        for depth in range(len(forced), len(outcome.decisions)):
            for alternative in reversed(outcome.decisions[depth][1]):
                pending.append([*taken[:depth], alternative])
    if best is None or pending:
        return TraceIssue(session, "too many ambiguous branches to check this role's events", local_type.role)
    index = events[best.progress][0] if best.progress < len(events) else None
    return TraceIssue(session, best.issue or "", local_type.role, index)


def _replay_once(
    session: str,
    local_type: LocalType,
    events: Sequence[tuple[int, TraceEvent]],
    env: dict[str, object],
    forced: list[int],
    complete: bool,
) -> _Outcome:
    guesser = _BranchGuesser(forced)
    monitor = Monitor(local_type, session=session, env=env, resolve_if=guesser)
    replay = _RoleReplay(monitor)
    position = 0
    try:
        while position < len(events):
            guesser.lookahead = events[position][1]
            replay.apply(events[position][1])
            position += 1
        guesser.lookahead = None
        if complete and not replay.finish():
            return _Outcome(
                position,
                f"trace ends while the role still expects {monitor.expected()}",
                tuple(guesser.decisions),
            )
    except RuntimeProtocolError as exc:
        return _Outcome(position, exc.detail, tuple(guesser.decisions))
    # Quorum stragglers still owed a discard when the role ended may arrive after it left: given up.
    return _Outcome(position, late=frozenset(monitor.late) | frozenset(monitor.discards))


class _RoleReplay:
    """Feeds one role's events to its monitor, as the live endpoint would have."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self.armed: list[TimeoutToken] = []
        self.announcing: str | None = None
        """The saga verdict the coordinator is sending to each participant (applied once)."""

    def apply(self, event: TraceEvent) -> None:
        kind, label = event.kind, event.label
        self.armed.extend(self.monitor.take_armed())
        if event.is_control and kind in ("send", "recv"):
            self._control(kind, label)
            return
        self.announcing = None
        if kind == "send":
            self._step(lambda: self.monitor.on_send(event.receiver, label))
        elif kind == "recv":
            self._step(lambda: self.monitor.on_receive(event.sender, label))
        elif kind == "choose":
            self._step(lambda: self.monitor.on_choose(label))
        elif kind == "timeout":
            self._timeout()
        # `local`, `discard` and `late` events are not steps of the local type.

    def finish(self) -> bool:
        """Whether the role reached its end (committing a finished saga nobody else was told about)."""
        if not self.monitor.done and self._commit_silent_try():
            return self.monitor.done
        return self.monitor.done

    def _step(self, action: Callable[[], object]) -> None:
        try:
            action()
        except ProtocolViolation:
            # A coordinator alone in its saga announces nothing: its finished body commits silently.
            if not self._commit_silent_try():
                raise
            action()

    def _commit_silent_try(self) -> bool:
        heads = self.monitor.next_steps()
        for head in heads:
            if isinstance(head, TryToken) and head.body_done and head.step.coordinator == self.monitor.role:
                self.monitor.on_try_outcome(head, True)
                return True
        return False

    def _control(self, kind: str, label: str) -> None:
        if label not in (COMMIT, COMPENSATE):
            return  # a participant's report (Done / Failed) is not a step of its local type
        if kind == "send" and self.announcing == label:
            return
        self.monitor.next_steps()  # settle, so a finished body shows its try token
        tokens = [t for t in self.monitor.tries if t.active]
        if not tokens:
            raise RuntimeProtocolError(f"saga {label} {kind} outside a try block", role=self.monitor.role)
        self.monitor.on_try_outcome(tokens[-1], label == COMMIT)
        if label == COMPENSATE:
            # SPEC §4.6: the body is abandoned; its messages still on their way arrive late (or after
            # the role left), as the live endpoint counts them, and are not "sent but never arrived".
            self.monitor.mark_late(tokens[-1].step.body)
        self.announcing = label if kind == "send" else None

    def _timeout(self) -> None:
        active = [t for t in self.armed if t.active]
        if not active:
            raise RuntimeProtocolError("a timeout fired outside any timeout block", role=self.monitor.role)
        self.armed.remove(active[-1])
        self.monitor.on_timeout(active[-1])
