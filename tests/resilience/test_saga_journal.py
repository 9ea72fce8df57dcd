"""Journaled sagas: compensation last-in-first-out for completed steps only, past failing compensations,
and recovery of the sagas open at a crash from the SQLite journal by a new process."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from aura_choreo.journal import Journal, JournalStore
from aura_choreo.resilience.saga import (
    SagaError,
    SagaLog,
    SagaOutcome,
    SagaResult,
    SagaStep,
    recover_sagas,
    run_saga,
)
from aura_choreo.testing.virtual_time import run_virtual


@dataclass
class World:
    """The external system the saga acts on; its effects survive the saga's process."""

    applied: set[str] = field(default_factory=set)
    events: list[tuple[str, str]] = field(default_factory=list)


def make_steps(
    world: World, rng: random.Random, n: int, fail_at: int | None, bad_comp: int | None
) -> list[SagaStep]:
    steps = []
    for i in range(n):
        name = f"s{i}"
        pause = rng.uniform(0.1, 2.0)

        async def act(name: str = name, pause: float = pause, fails: bool = i == fail_at) -> None:
            await asyncio.sleep(pause)
            if fails:
                raise RuntimeError(f"{name} refused")
            world.applied.add(name)  # idempotent: doing it twice is doing it once
            world.events.append(("do", name))
            await asyncio.sleep(pause / 2)  # a crash here: the effect happened, the journal does not know

        async def undo(name: str = name, pause: float = pause, fails: bool = i == bad_comp) -> None:
            await asyncio.sleep(pause)
            if fails:
                raise RuntimeError(f"cannot undo {name}")
            world.applied.discard(name)
            world.events.append(("undo", name))
            await asyncio.sleep(pause / 2)

        steps.append(SagaStep(name, act, undo))
    return steps


def open_log(path: Path) -> SagaLog:
    # NORMAL: a committed fact survives the death of the process (WAL), which is what is tested here
    return SagaLog(Journal("coordinator", JournalStore(path, synchronous="NORMAL")))


def test_a_failing_step_compensates_completed_steps_last_first_and_continues_past_a_failing_compensation(
    tmp_path: Path,
) -> None:
    world = World()
    steps = make_steps(world, random.Random(1), 5, fail_at=3, bad_comp=1)
    result = run_virtual(run_saga("t1", "order", steps, open_log(tmp_path / "j.db")))
    assert result.outcome is SagaOutcome.COMPENSATED
    assert result.completed == ("s0", "s1", "s2")
    assert result.compensated == ("s2", "s0")  # s1's compensation failed, s3 and s4 never completed
    assert result.compensation_errors == (("s1", "RuntimeError: cannot undo s1"),)
    assert result.failed_step == "s3" and result.error == "RuntimeError: s3 refused"
    assert [e for e in world.events if e[0] == "undo"] == [("undo", "s2"), ("undo", "s0")]
    assert world.applied == {"s1"}
    assert open_log(tmp_path / "j.db").open_sagas() == []


def test_a_saga_without_failures_commits_and_compensates_nothing(tmp_path: Path) -> None:
    world = World()
    steps = make_steps(world, random.Random(2), 4, None, None)
    result = run_virtual(run_saga("t2", "order", steps, open_log(tmp_path / "j.db")))
    assert result == SagaResult("t2", SagaOutcome.COMMITTED, ("s0", "s1", "s2", "s3"), ())
    assert world.applied == {"s0", "s1", "s2", "s3"}


def crash_and_recover(seed: int, path: Path, mode: str) -> tuple[World, list[str], SagaResult]:
    rng = random.Random(seed)
    n = rng.randint(1, 6)
    fail_at = rng.randrange(n) if rng.random() < 0.5 else None
    bad_comp = rng.randrange(n) if rng.random() < 0.2 else None
    world = World()
    steps = make_steps(world, rng, n, fail_at, bad_comp)
    crash_at = rng.uniform(0, 1.5 * n)

    async def first_process() -> None:
        task = asyncio.ensure_future(run_saga(f"saga-{seed}", "order", steps, open_log(path)))
        await asyncio.sleep(crash_at)
        task.cancel()  # the process dies wherever the saga was
        try:
            await task
        except asyncio.CancelledError:
            pass

    async def second_process() -> tuple[list[str], list[SagaResult]]:
        log = open_log(path)  # a new journal object on the same file: what the first wrote is all it knows
        was_open = log.open_sagas()
        return was_open, await recover_sagas(log, {"order": steps}, mode=mode)  # type: ignore[arg-type]

    run_virtual(first_process())
    was_open, results = run_virtual(second_process())
    assert open_log(path).open_sagas() == []
    if was_open:
        assert len(results) == 1
        return world, was_open, results[0]
    return world, was_open, SagaResult("", SagaOutcome.COMMITTED, (), ())


def check_crashes(tmp_path: Path, mode: str, seeds: range) -> int:
    """Crash a saga at a random time for each seed, recover it, check it; returns how many were open."""
    recovered = 0
    for seed in seeds:
        path = tmp_path / f"{mode}-{seed}.db"
        world, was_open, result = crash_and_recover(seed, path, mode)
        if not was_open:
            continue  # the crash came after the saga had ended
        recovered += 1
        where = f"seed {seed}: {result}; {world.events}"
        failed_comps = {name for name, _ in result.compensation_errors}
        if result.outcome is SagaOutcome.COMMITTED:
            assert world.applied == set(result.completed), where
        else:
            assert world.applied == failed_comps, where  # everything undone but what could not be
            # compensations only for completed steps, in reverse order of completion
            undone = [name for kind, name in world.events if kind == "undo"]
            assert set(undone) <= set(result.completed), where
            first_undo = list(dict.fromkeys(undone))  # a compensation re-run after the crash counts once
            expected = [s for s in reversed(result.completed) if s not in failed_comps]
            assert first_undo == expected, where
            assert list(result.compensated) == expected, where
    return recovered


@pytest.mark.parametrize("mode", ["finish", "compensate"])
def test_sagas_open_at_a_crash_are_finished_or_compensated_never_left_half_done(
    tmp_path: Path, mode: str
) -> None:
    assert check_crashes(tmp_path, mode, range(80)) > 30


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["finish", "compensate"])
def test_saga_crashes_over_a_thousand_seeds(tmp_path: Path, mode: str) -> None:
    assert check_crashes(tmp_path, mode, range(1000)) > 400


def test_recovering_with_a_different_definition_is_refused(tmp_path: Path) -> None:
    world = World()
    steps = make_steps(world, random.Random(3), 3, None, None)
    path = tmp_path / "j.db"

    async def crash() -> None:
        task = asyncio.ensure_future(run_saga("x", "order", steps, open_log(path)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run_virtual(crash())
    with pytest.raises(SagaError, match="no definition 'order'"):
        run_virtual(recover_sagas(open_log(path), {}))
    with pytest.raises(SagaError, match="differ from its journal"):
        run_virtual(recover_sagas(open_log(path), {"order": steps[:2]}))
