"""A choice inside a parallel block whose sibling branch has a choice with the same labels: the role
may choose in the second branch first (a legal interleaving). `Monitor.on_choose` advanced the first
thread with a branch of that label, so the send that followed was a false `ProtocolViolation`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aura_choreo.errors import ProtocolViolation
from aura_choreo.projection.local_types import Choose
from aura_choreo.projection.project import project_role
from aura_choreo.protocol import choreography
from aura_choreo.runtime.monitor import Monitor
from aura_choreo.testing.simulation import simulate

TWIN_CHOICES = choreography(
    """
    choreography TwinChoices {
        roles: L, A, B;
        parallel {
            choice L { ok: { L -> A: Go; } no: { L -> A: Stop; } }
        |
            choice L { ok: { L -> B: Go; } no: { L -> B: Stop; } }
        }
        L -> A: Last;
    }
    """
)


def _leader() -> Monitor:
    return Monitor(project_role(TWIN_CHOICES.checked, "L"))


async def _second_branch_first(ep: Any) -> None:
    await ep.choose("ok")
    await ep.send("B", "Go")
    await ep.choose("no")
    await ep.send("A", "Stop")
    await ep.send("A", "Last")


async def _both_choices_first(ep: Any) -> None:
    await ep.choose("no")
    await ep.choose("ok")
    await ep.send("B", "Go")
    await ep.send("A", "Stop")
    await ep.send("A", "Last")


@pytest.mark.parametrize("leader", [_second_branch_first, _both_choices_first])
@pytest.mark.parametrize("seed", range(3))
def test_a_choice_in_the_second_parallel_branch_may_come_first(leader: Any, seed: int) -> None:
    report = simulate(TWIN_CHOICES, seed=seed, roles={"L": leader}, check=True)
    assert report.ok, report.summary()
    received = {e.role: [] for e in report.runs[0].trace.events}
    for event in report.runs[0].trace.events:
        if event.kind == "recv":
            received[event.role].append(event.label)
    assert received["A"] == ["Stop", "Last"] and received["B"] == ["Go"]


def test_the_monitor_takes_the_choice_in_the_thread_the_next_send_names() -> None:
    monitor = _leader()
    monitor.on_choose("ok")
    monitor.on_send("B", "Go")
    monitor.on_choose("no")
    monitor.on_send("A", "Stop")
    monitor.on_send("A", "Last")
    assert monitor.done


def test_a_send_neither_pending_branch_opens_with_is_still_a_violation() -> None:
    monitor = _leader()
    monitor.on_choose("ok")
    with pytest.raises(ProtocolViolation):
        monitor.on_send("B", "Stop")


def test_a_choice_named_by_its_step_is_taken_in_that_thread_at_once() -> None:
    monitor = _leader()
    second = monitor.next_steps()[1]
    assert isinstance(second, Choose)
    monitor.on_choose("ok", second)
    assert "send Go to B" in monitor.expected() and "send Go to A" not in monitor.expected()


def test_pending_choices_are_matched_to_distinct_threads() -> None:
    monitor = _leader()
    monitor.on_choose("ok")
    monitor.on_choose("no")
    monitor.on_send("A", "Stop")  # `no` is the first branch's, so `ok` is the second's
    assert monitor.expected() == "send Go to B"
    with pytest.raises(ProtocolViolation):
        monitor.on_choose("ok")  # both branches have chosen


@pytest.mark.parametrize("seed", range(3))
def test_behaviour_driven_roles_choose_in_their_own_branch(seed: int) -> None:
    report = simulate(TWIN_CHOICES, seed=seed)
    assert report.ok, report.summary()


class SlowFirstChoice:
    """L's behaviour: the first branch's decision takes a while, so the second branch chooses first
    (`ok` in the second branch, then `no` in the first)."""

    async def choose_ok_or_no(self, env: object) -> str:
        for _ in range(5):
            await asyncio.sleep(0)
        return "no"

    async def choose_ok_or_no_2(self, env: object) -> str:
        return "ok"


def test_the_runner_chooses_in_the_branch_that_decided() -> None:
    report = simulate(TWIN_CHOICES, seed=0, roles={"L": SlowFirstChoice()}, check=True)
    assert report.ok, report.summary()
    labels = {
        (e.role, e.label) for e in report.runs[0].trace.events if e.kind == "recv" and e.role in "AB"
    }
    assert labels == {("A", "Stop"), ("A", "Last"), ("B", "Go")}


PER_INSTANCE = choreography(
    """
    choreography PerInstance {
        roles: L, W[2];
        parallel {
            choice L { ok: { L -> W[0]: Go; } no: { L -> W[0]: Stop; } }
        |
            choice L { ok: { L -> W[1]: Go; } no: { L -> W[1]: Stop; } }
        }
    }
    """
)


async def _last_instance_first(ep: Any) -> None:
    await ep.choose("no")
    await ep.send("W[1]", "Stop")
    await ep.choose("ok")
    await ep.send("W[0]", "Go")


def test_per_instance_choices_may_be_taken_in_any_order() -> None:
    report = simulate(PER_INSTANCE, seed=0, roles={"L": _last_instance_first}, check=True)
    assert report.ok, report.summary()
    labels = {(e.role, e.label) for e in report.runs[0].trace.events if e.kind == "recv"}
    assert labels == {("W[0]", "Go"), ("W[1]", "Stop")}
