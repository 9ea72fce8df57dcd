"""Journaled sagas: steps with compensations, recorded in the journal so a restarted process finishes or
compensates the sagas it had open (SPEC §9; the library form of the DSL's `try/compensate`, §4.6).

    steps = [SagaStep("reserve", reserve, release), SagaStep("charge", charge, refund)]
    result = await run_saga("order-17", "order", steps, log)    # log = SagaLog(journal)
    ...                                                         # after a crash and a restart:
    results = await recover_sagas(log, {"order": steps})

Rules (the Temporal saga samples' rules):
- each step's start and end, each compensation's end and the saga's outcome are journal facts, written
  before the saga goes on;
- when a step fails, the completed steps are compensated, last completed first (LIFO); a step that
  never completed is not compensated, nor is a step without a compensation;
- a failing compensation is recorded and reported (`SagaResult.compensation_errors`); the others still
  run;
- after a restart, `recover_sagas` takes every saga with no outcome: one that was compensating goes on
  compensating the steps not yet compensated; otherwise (mode "finish") the step in flight and those
  after it run (actions must be idempotent: the one in flight may have taken effect before the crash),
  or (mode "compensate") the step in flight is run again to learn whether it completes, then the
  completed steps are compensated. Compensations must be idempotent too: one that was running at the
  crash runs again.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from aura_choreo.errors import AuraChoreoError
from aura_choreo.journal import FactValue, Journal

Action = Callable[[], Awaitable[object]]

_PREFIX = "saga."
BEGIN, START, DONE, FAILED, COMPENSATING, COMP_DONE, COMP_FAILED, END = (
    "begin", "start", "done", "failed", "compensating", "comp_done", "comp_failed", "end",
)  # fmt: skip


class SagaOutcome(enum.Enum):
    COMMITTED = "committed"
    COMPENSATED = "compensated"


@dataclass(frozen=True)
class SagaStep:
    """One step: `action`, and the `compensation` that undoes it once it has completed (None: nothing)."""

    name: str
    action: Action
    compensation: Action | None = None


@dataclass(frozen=True)
class SagaResult:
    saga_id: str
    outcome: SagaOutcome
    completed: tuple[str, ...]
    """Steps whose action completed, in order."""
    compensated: tuple[str, ...]
    """Steps compensated, in the order the compensations completed (reverse of `completed`)."""
    failed_step: str | None = None
    error: str | None = None
    compensation_errors: tuple[tuple[str, str], ...] = ()
    """(step, error) of each compensation that failed."""


class SagaError(AuraChoreoError):
    """A saga cannot run or be recovered (unknown definition, a journal that disagrees with it)."""


@dataclass
class _State:
    """A saga's progress as its journal facts tell it."""

    definition: str
    steps: tuple[str, ...]
    completed: list[str] = field(default_factory=list)
    compensating: bool = False
    compensated: list[str] = field(default_factory=list)
    comp_errors: list[tuple[str, str]] = field(default_factory=list)
    failed_step: str | None = None
    error: str | None = None
    in_flight: str | None = None
    """A step started and neither done nor failed: it may or may not have taken effect."""
    ended: bool = False


class SagaLog:
    """The journal facts of the sagas of one device."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def record(self, saga_id: str, event: str, step: str = "", **data: FactValue) -> None:
        """Commit one fact (one transaction) before the saga goes on."""
        pending = self.journal.reserve(
            [_PREFIX + event], protocol="saga", session=saga_id, role=step, label=event, data=data
        )
        self.journal.commit(pending)

    def _states(self) -> dict[str, _State]:
        states: dict[str, _State] = {}
        own = self.journal.device
        for fact in self.journal.facts():  # ordered by id: this device's counters are its write order
            if fact.id.device != own or not fact.name.startswith(_PREFIX):
                continue
            event = fact.name[len(_PREFIX) :]
            if event == BEGIN:
                steps = str(fact.data.get("steps", ""))
                names = tuple(steps.split("\x1f")) if steps else ()
                states[fact.session] = _State(str(fact.data.get("definition", "")), names)
                continue
            state = states.get(fact.session)
            if state is None:
                continue
            if event == START:
                state.in_flight = fact.role
            elif event == DONE:
                state.completed.append(fact.role)
                state.in_flight = None
            elif event == FAILED:
                state.failed_step, state.error = fact.role, str(fact.data.get("error", ""))
                state.in_flight = None
            elif event == COMPENSATING:
                state.compensating = True
            elif event == COMP_DONE:
                state.compensated.append(fact.role)
            elif event == COMP_FAILED:
                state.comp_errors.append((fact.role, str(fact.data.get("error", ""))))
            elif event == END:
                state.ended = True
        return states

    def open_sagas(self) -> list[str]:
        """Ids of the sagas begun and not ended, oldest first."""
        return [saga_id for saga_id, state in self._states().items() if not state.ended]


def _storable(text: str) -> bool:
    """Whether the journal (UTF-8) can hold `text`: not if it has a lone surrogate."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _describe(exc: BaseException) -> str:
    """An error as the journal records it. A message may hold lone surrogates (an `OSError` about a file
    name that is not UTF-8 carries them, as `os.fsdecode` makes them), which UTF-8 cannot encode: they
    are written as `\\udcff`, since a fact that cannot be committed would leave the saga uncompensated
    (and every recovery failing the same way)."""
    try:
        message = str(exc)
    except Exception:  # a user's exception whose __str__ fails must not stop the compensation
        message = "<the error's message could not be read>"
    text = f"{type(exc).__name__}: {message}"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


async def run_saga(saga_id: str, definition: str, steps: Sequence[SagaStep], log: SagaLog) -> SagaResult:
    """Run `steps` in order, journaled; on a failing step compensate the completed ones (LIFO)."""
    names = [s.name for s in steps]
    if len(set(names)) != len(names) or not all(_storable(n) and n and "\x1f" not in n for n in names):
        raise SagaError(f"saga {definition!r}: step names must be distinct, non-empty and printable")
    if not _storable(saga_id) or not _storable(definition):
        raise SagaError(f"saga {saga_id!r} ({definition!r}): its id and definition must be valid Unicode")
    log.record(saga_id, BEGIN, definition=definition, steps="\x1f".join(names))
    return await _forward(saga_id, steps, 0, [], log)


async def _forward(
    saga_id: str, steps: Sequence[SagaStep], first: int, completed: list[str], log: SagaLog
) -> SagaResult:
    for index in range(first, len(steps)):
        step = steps[index]
        log.record(saga_id, START, step.name, index=index)
        try:
            await step.action()
        except Exception as exc:
            error = _describe(exc)
            log.record(saga_id, FAILED, step.name, error=error)
            return await _compensate(saga_id, steps, completed, [], [], log, step.name, error)
        log.record(saga_id, DONE, step.name)
        completed.append(step.name)
    log.record(saga_id, END, outcome=SagaOutcome.COMMITTED.value)
    return SagaResult(saga_id, SagaOutcome.COMMITTED, tuple(completed), ())


async def _compensate(
    saga_id: str,
    steps: Sequence[SagaStep],
    completed: list[str],
    compensated: list[str],
    errors: list[tuple[str, str]],
    log: SagaLog,
    failed_step: str | None,
    error: str | None,
) -> SagaResult:
    log.record(saga_id, COMPENSATING)
    by_name = {s.name: s for s in steps}
    settled = set(compensated) | {name for name, _ in errors}
    for name in reversed(completed):
        if name in settled:
            continue
        compensation = by_name[name].compensation
        if compensation is not None:
            try:
                await compensation()
            except Exception as exc:
                problem = _describe(exc)
                log.record(saga_id, COMP_FAILED, name, error=problem)
                errors.append((name, problem))
                continue
        log.record(saga_id, COMP_DONE, name)
        compensated.append(name)
    log.record(saga_id, END, outcome=SagaOutcome.COMPENSATED.value)
    return SagaResult(
        saga_id, SagaOutcome.COMPENSATED, (*completed,), (*compensated,), failed_step, error, (*errors,)
    )


async def _settle_in_flight(saga_id: str, steps: Sequence[SagaStep], state: _State, log: SagaLog) -> None:
    """Run the step in flight at the crash again (idempotent), so that it is either completed (and will
    be compensated) or failed (and never took effect): compensations only undo completed steps."""
    step = next(s for s in steps if s.name == state.in_flight)
    try:
        await step.action()
    except Exception as exc:
        log.record(saga_id, FAILED, step.name, error=_describe(exc))
        return
    log.record(saga_id, DONE, step.name)
    state.completed.append(step.name)


async def recover_sagas(
    log: SagaLog,
    definitions: Mapping[str, Sequence[SagaStep]],
    *,
    mode: Literal["finish", "compensate"] = "finish",
) -> list[SagaResult]:
    """Finish or compensate every saga the journal shows open (see the module docstring)."""
    results = []
    for saga_id, state in log._states().items():
        if state.ended:
            continue
        steps = definitions.get(state.definition)
        if steps is None:
            raise SagaError(f"saga {saga_id}: no definition {state.definition!r} to recover it with")
        if tuple(s.name for s in steps) != state.steps:
            raise SagaError(f"saga {saga_id}: the steps of {state.definition!r} differ from its journal")
        if state.compensating or state.failed_step is not None or mode == "compensate":
            if state.in_flight is not None and not state.compensating and state.failed_step is None:
                await _settle_in_flight(saga_id, steps, state, log)
            why = state.error or "recovered after a restart"
            done, errors = state.compensated, state.comp_errors
            result = await _compensate(
                saga_id, steps, state.completed, done, errors, log, state.failed_step, why
            )
        else:
            # the step in flight (started, not done) runs again: actions are idempotent
            result = await _forward(saga_id, steps, len(state.completed), state.completed, log)
        results.append(result)
    return results
