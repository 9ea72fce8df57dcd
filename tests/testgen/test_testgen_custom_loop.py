"""`test-gen` forces a custom loop's condition, which only its decider's behaviour can supply.

Was: the plan treated `loop (custom: "has_more_frames")` like a `match` on a value it could not force,
so the loop's branches were "not forced" and a guard inside the loop was tested on whatever the
default behaviour drew: on sensor_fusion the loop ran zero rounds and the flow-budget denial test
failed ("denied by policy, yet the run succeeded").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_choreo import load
from aura_choreo.docs import load_files
from aura_choreo.testgen import plan_protocol, write_suite
from conftest import LITERATURE_CORPUS, generated_tests

SENSOR_FUSION = LITERATURE_CORPUS / "sensor_fusion.choreo"
CONTINUE = {"kind": "choose", "role": "Clock", "choice": "has_more_frames", "label": "continue"}


def test_a_custom_loops_branches_are_forced_by_its_deciders_choice() -> None:
    plan = plan_protocol(load(SENSOR_FUSION))
    forced = {b["label"]: b["path"] for b in plan.branches if b["choice"] == "has_more_frames"}
    assert forced == {"continue": [CONTINUE], "stop": [{**CONTINUE, "label": "stop"}]}
    assert not [u for u in plan.unforceable if u["choice"] == "has_more_frames"]


def test_a_guard_inside_a_custom_loop_is_reached_through_the_forced_continue() -> None:
    flow = next(g for g in plan_protocol(load(SENSOR_FUSION)).guards if g["kind"] == "flow")
    assert flow["role"] == "Lidar" and flow["path"] == [CONTINUE]


def test_a_condition_a_role_receives_is_not_forced_by_the_choice_alone() -> None:
    """`if min_ttc_ms < 1500` at the Planner reads a field the Planner received: the monitor checks the
    choice against it, so forcing the choice alone would fail; the plan leaves it unforced."""
    plan = plan_protocol(load(SENSOR_FUSION))
    assert {u["label"] for u in plan.unforceable if u["choice"] == "then_or_else"} == {"then", "else"}


@pytest.mark.timeout(120)
def test_the_sensor_fusion_suite_passes_as_generated(tmp_path: Path) -> None:
    loaded = load_files([str(SENSOR_FUSION)])
    assert loaded.ok
    write_suite(loaded.protocols, [str(SENSOR_FUSION)], tmp_path / "suite")
    (path,) = (tmp_path / "suite").glob("test_*.py")
    tests = {k: v for k, v in generated_tests(path, "fix12_generated").items() if "faulty" not in k}
    assert "test_guard_denies_lidar_flow_budget" in tests and "test_branch_has_more_frames_continue" in tests
    for test in tests.values():
        test()
