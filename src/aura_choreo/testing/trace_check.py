"""Trace checking after the fact: does a recorded trace follow the global protocol?

Two independent checks, per session:
- each role's events are replayed through the runtime's sans-I/O `Monitor` (the machine the live
  endpoints use). A trace carries labels, not payload values, so an `if`/`match` the monitor cannot
  evaluate is resolved by trying each branch against the events that follow (depth-first, bounded);
- global consistency: every message received (or discarded as a straggler, or dropped as late) was
  sent earlier in the trace, and each (sender, receiver) channel is FIFO: the k-th arrival is the k-th
  send.
With `complete=True` (the default) every role must also have reached its end and every sent message
must have arrived; a trace of a run that failed on purpose is checked with `complete=False`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from aura_choreo.errors import ProtocolViolation, RuntimeProtocolError
from aura_choreo.projection.local_types import Branch, If, LocalType, Offer, Recv, Send
from aura_choreo.runtime.endpoint import COMMIT, COMPENSATE, DONE, FAILED
from aura_choreo.runtime.monitor import EvaluationFailed, Monitor, TimeoutToken, TryToken
from aura_choreo.runtime.trace import Trace, TraceEvent
from aura_choreo.testing.trace_channels import check_channels
from aura_choreo.testing.trace_issues import TraceIssue, TraceReport

SAGA_CONTROL = frozenset({COMMIT, COMPENSATE, DONE, FAILED})

__all__ = ["SAGA_CONTROL", "TraceIssue", "TraceReport", "check_trace"]
_MAX_REPLAYS = 2_000


def check_trace(
    protocol: object,
    trace: Trace | Iterable[TraceEvent],
    *,
    complete: bool = True,
    params: Mapping[str, object] | None = None,
) -> TraceReport:
    """Check `trace` (one or many sessions) against `protocol`.

    `protocol` is a loaded `aura_choreo.Protocol` or local types (a role -> LocalType mapping or an
    iterable of them); `params` adds or overrides parameter values (loop counts, family sizes).
    """
    local_types, name, bound = _local_types(protocol)
    env: dict[str, object] = {**bound, **(params or {})}
    events = list(trace)
    by_session: dict[str, list[tuple[int, TraceEvent]]] = defaultdict(list)
    for index, event in enumerate(events):
        by_session[event.session].append((index, event))
    issues: list[TraceIssue] = []
    for session, indexed in by_session.items():
        issues.extend(_check_session(session, indexed, local_types, name, env, complete))
    return TraceReport(tuple(issues), tuple(by_session), len(events))


def _local_types(protocol: object) -> tuple[dict[str, LocalType], str, dict[str, object]]:
    getter = getattr(protocol, "local_types", None)
    if callable(getter):
        found = getter()
        params = getattr(protocol, "params", None)
        bound = dict(params) if isinstance(params, Mapping) else {}
        name = str(getattr(protocol, "qualified_name", ""))
    else:
        found, bound, name = protocol, {}, ""
    if isinstance(found, Mapping):
        types = {str(role): lt for role, lt in found.items() if isinstance(lt, LocalType)}
    elif isinstance(found, Iterable):
        types = {lt.role: lt for lt in found if isinstance(lt, LocalType)}
    else:
        raise TypeError(f"expected a protocol or local types, got {type(protocol).__name__}")
    if not name and types:
        name = next(iter(types.values())).protocol
    return types, name, bound


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
        per_role[event.role].append((index, event))
    control = _control_labels(local_types.values())
    given_up: set[tuple[str, str, str]] = set()
    for role, local_type in local_types.items():
        replayed = _replay_role(session, local_type, per_role.get(role, []), env, complete, control)
        if isinstance(replayed, TraceIssue):
            issues.append(replayed)
        else:
            given_up.update((sender, role, label) for sender, label in replayed.late)
    issues.extend(check_channels(session, indexed, complete, given_up, control))
    return issues


def _control_labels(local_types: Iterable[LocalType]) -> frozenset[str]:
    """The saga control labels that cannot be mistaken for the protocol's own messages.

    A trace records labels, not envelope kinds, so a protocol with its own `Done` message keeps it.
    """
    used: set[str] = set()
    for local_type in local_types:
        for step in local_type.iter_steps():
            if isinstance(step, Send | Recv):
                used.add(step.label)
            elif isinstance(step, Offer):
                used.update(b.label for b in step.branches)
    return SAGA_CONTROL - used


# ---------------------------------------------------------------------------- per-role replay


class _NeedsDecision(Exception):
    def __init__(self, branches: int) -> None:
        self.branches = branches


class _ReplayMonitor(Monitor):
    """A monitor that resolves `if`s it cannot evaluate from a list of forced branch indices."""

    def __init__(self, local_type: LocalType, session: str, env: dict[str, object], forced: list[int]):
        super().__init__(local_type, session=session, env=env)
        self._forced = forced
        self._used = 0

    def _decide_if(self, step: If) -> Branch | None:
        try:
            return super()._decide_if(step)
        except EvaluationFailed:
            options = _if_options(step)
            if self._used >= len(self._forced):
                raise _NeedsDecision(len(options)) from None
            choice = self._forced[self._used]
            self._used += 1
            return options[choice]


def _if_options(step: If) -> list[Branch | None]:
    """The outcomes a trace may show for an `if`/`match` it cannot evaluate: one of its branches.

    A value that matches no arm would let the role skip the match at run time; a trace check does not
    accept that silently, since it usually means a value the protocol's arms do not cover.
    """
    return list(step.branches)


@dataclass(frozen=True)
class _Outcome:
    progress: int
    """How many events replayed before the failure (len(events) on success)."""
    issue: str | None = None
    decision: int = 0
    """When the replay stopped at an `if` it cannot evaluate: the number of branches to try."""
    late: frozenset[tuple[str, str]] = frozenset()
    """(sender, label) of messages the role gave up on (an expired timeout, a compensated saga)."""


def _replay_role(
    session: str,
    local_type: LocalType,
    events: Sequence[tuple[int, TraceEvent]],
    env: Mapping[str, object],
    complete: bool,
    control: frozenset[str],
) -> TraceIssue | _Outcome:
    """The successful replay of one role's events, or the issue of the replay that got furthest."""
    budget = [_MAX_REPLAYS]
    best: list[_Outcome] = []

    def search(forced: list[int]) -> _Outcome | None:
        if budget[0] <= 0:
            return None
        budget[0] -= 1
        outcome = _replay_once(session, local_type, events, dict(env), forced, complete, control)
        if outcome.decision:
            for choice in range(outcome.decision):
                found = search([*forced, choice])
                if found is not None:
                    return found
            return None
        if outcome.issue is None:
            return outcome
        if not best or outcome.progress > best[0].progress:
            best[:] = [outcome]
        return None

    success = search([])
    if success is not None:
        return success
    if not best:
        return TraceIssue(session, "too many ambiguous branches to check this role's events", local_type.role)
    failed = best[0]
    index = events[failed.progress][0] if failed.progress < len(events) else None
    return TraceIssue(session, failed.issue or "", local_type.role, index)


def _replay_once(
    session: str,
    local_type: LocalType,
    events: Sequence[tuple[int, TraceEvent]],
    env: dict[str, object],
    forced: list[int],
    complete: bool,
    control: frozenset[str],
) -> _Outcome:
    replay = _RoleReplay(_ReplayMonitor(local_type, session, env, forced), control)
    position = 0
    try:
        while position < len(events):
            replay.apply(events[position][1])
            position += 1
        if complete and not replay.finish():
            return _Outcome(position, f"trace ends while the role still expects {replay.monitor.expected()}")
    except _NeedsDecision as need:
        return _Outcome(position, decision=need.branches)
    except RuntimeProtocolError as exc:
        return _Outcome(position, exc.detail)
    return _Outcome(position, late=frozenset(replay.monitor.late))


class _RoleReplay:
    """Feeds one role's events to its monitor, as the live endpoint would have."""

    def __init__(self, monitor: _ReplayMonitor, control: frozenset[str]) -> None:
        self.monitor = monitor
        self.control = control
        self.armed: list[TimeoutToken] = []
        self.announcing: str | None = None
        """The saga verdict the coordinator is sending to each participant (applied once)."""

    def apply(self, event: TraceEvent) -> None:
        kind, label = event.kind, event.label
        self.armed.extend(self.monitor.take_armed())
        if label in self.control and kind in ("send", "recv"):
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
        self.announcing = label if kind == "send" else None

    def _timeout(self) -> None:
        active = [t for t in self.armed if t.active]
        if not active:
            raise RuntimeProtocolError("a timeout fired outside any timeout block", role=self.monitor.role)
        self.armed.remove(active[-1])
        self.monitor.on_timeout(active[-1])
