"""A saga step whose error message the journal cannot store left the saga uncompensated, found by hunt7.

`run_saga` journals a failing step's error (`saga.failed`, `error="<type>: <message>"`) before it
compensates. A message with a lone surrogate (what a file name that is not UTF-8 becomes in Python,
`os.fsdecode`, put in an f-string message) cannot be encoded for the journal: the commit raised
`UnicodeEncodeError` from inside the `except`, the completed steps were never compensated, and every
`recover_sagas` failed the same way, so the saga stayed open for good. Same for an exception whose
`__str__` raises, and for a failing compensation. Also: a one-step saga whose step is named "" ran,
but its journal read back as zero steps, so recovery refused it ("differ from its journal").
Fixed in resilience/saga.py.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from aura_choreo.journal import Journal, JournalStore
from aura_choreo.resilience.saga import SagaError, SagaLog, SagaOutcome, SagaStep, run_saga


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message")


def _log(path: Path) -> SagaLog:
    return SagaLog(Journal("coordinator", JournalStore(str(path))))


def _steps(
    events: list[tuple[str, str]], error: BaseException | None, comp_error: BaseException | None
) -> list[SagaStep]:
    async def reserve() -> None:
        events.append(("do", "reserve"))

    async def release() -> None:
        events.append(("undo", "reserve"))

    async def ship() -> None:
        events.append(("do", "ship"))

    async def unship() -> None:
        events.append(("undo", "ship"))
        if comp_error is not None:
            raise comp_error

    async def charge() -> None:
        events.append(("do", "charge"))
        if error is not None:
            raise error

    return [SagaStep("reserve", reserve, release), SagaStep("ship", ship, unship), SagaStep("charge", charge)]


def _undecodable_file_error() -> RuntimeError:
    # A name from `os.listdir` (or `sys.argv`, or a subprocess's output) that is not UTF-8 holds lone
    # surrogates, and an f-string message carries them (unlike `OSError`'s own, which uses repr).
    name = os.fsdecode(b"invoice-\xff.pdf")
    return RuntimeError(f"cannot upload {name}")


@pytest.mark.parametrize("which", ["surrogate", "unprintable"])
def test_a_step_error_the_journal_cannot_hold_still_compensates(tmp_path: Path, which: str) -> None:
    error = _undecodable_file_error() if which == "surrogate" else Unprintable()
    events: list[tuple[str, str]] = []
    result = asyncio.run(run_saga("order-1", "order", _steps(events, error, None), _log(tmp_path / "j.db")))
    assert result.outcome is SagaOutcome.COMPENSATED
    assert result.failed_step == "charge"
    assert result.compensated == ("ship", "reserve")
    assert events[-2:] == [("undo", "ship"), ("undo", "reserve")]
    assert type(error).__name__ in (result.error or "")
    assert _log(tmp_path / "j.db").open_sagas() == []  # nothing left for a restart to redo


def test_a_compensation_error_the_journal_cannot_hold_is_reported_and_the_rest_runs(tmp_path: Path) -> None:
    events: list[tuple[str, str]] = []
    steps = _steps(events, RuntimeError("declined"), _undecodable_file_error())
    result = asyncio.run(run_saga("order-2", "order", steps, _log(tmp_path / "j.db")))
    assert result.outcome is SagaOutcome.COMPENSATED
    assert result.compensated == ("reserve",)
    assert [step for step, _ in result.compensation_errors] == ["ship"]
    assert "\\udcff" in result.compensation_errors[0][1]
    assert _log(tmp_path / "j.db").open_sagas() == []


def test_an_empty_step_name_is_refused_up_front(tmp_path: Path) -> None:
    async def nothing() -> None:
        return None

    with pytest.raises(SagaError, match="non-empty"):
        asyncio.run(run_saga("s", "d", [SagaStep("", nothing)], _log(tmp_path / "j.db")))
    assert _log(tmp_path / "j.db").open_sagas() == []
