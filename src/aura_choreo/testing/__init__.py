"""Simulation and protocol testing: virtual time, a seeded faulty network, trace checking, shrinking.

    from aura_choreo.testing import SimulationConfig, check_trace, simulate

    report = simulate(protocol, seed=1, runs=50, config=SimulationConfig(network=..., schedule=...))
    assert report.ok, report.summary()

Names are imported on first use, so importing this package (e.g. as the pytest plugin's parent) is
cheap and never fails because of a later stage. Hypothesis strategies live in
`aura_choreo.testing.strategies` (they need `hypothesis`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aura_choreo.testing.differential import DifferentialResult, differential_check
    from aura_choreo.testing.fixtures import SimulationFixture, read_fixture, write_fixture
    from aura_choreo.testing.minimise import Minimised, minimise_run, replay
    from aura_choreo.testing.results import RunFailure, RunResult, SimulationConfig, SimulationReport
    from aura_choreo.testing.shrink import ShrinkResult, shrink
    from aura_choreo.testing.simulation import Simulator, run_simulation, simulate
    from aura_choreo.testing.trace_check import TraceIssue, TraceReport, check_trace
    from aura_choreo.testing.virtual_time import VirtualTimeEventLoop, run_virtual
    from aura_choreo.transports.faults import (
        BudgetExhaustion,
        Crash,
        DropMessage,
        DuplicateMessage,
        FaultEvent,
        FaultSchedule,
        Partition,
    )
    from aura_choreo.transports.network import (
        ExponentialLatency,
        FixedLatency,
        LinkModel,
        LinkOverride,
        NetworkModel,
        UniformLatency,
    )

_P = "aura_choreo.testing."
_LAZY_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["DifferentialResult", "differential_check"], _P + "differential"),
    **dict.fromkeys(
        [
            "BudgetExhaustion",
            "Crash",
            "DropMessage",
            "DuplicateMessage",
            "FaultEvent",
            "FaultSchedule",
            "Partition",
        ],
        "aura_choreo.transports.faults",
    ),
    **dict.fromkeys(["SimulationFixture", "read_fixture", "write_fixture"], _P + "fixtures"),
    **dict.fromkeys(["Minimised", "minimise_run", "replay"], _P + "minimise"),
    **dict.fromkeys(
        ["ExponentialLatency", "FixedLatency", "LinkModel", "LinkOverride", "NetworkModel", "UniformLatency"],
        "aura_choreo.transports.network",
    ),
    **dict.fromkeys(["ShrinkResult", "shrink"], _P + "shrink"),
    **dict.fromkeys(["RunFailure", "RunResult", "SimulationConfig", "SimulationReport"], _P + "results"),
    **dict.fromkeys(["Simulator", "run_simulation", "simulate"], _P + "simulation"),
    **dict.fromkeys(["TraceIssue", "TraceReport", "check_trace"], _P + "trace_check"),
    **dict.fromkeys(["VirtualTimeEventLoop", "run_virtual"], _P + "virtual_time"),
}


def __getattr__(name: str) -> object:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aura_choreo.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "BudgetExhaustion",
    "Crash",
    "DifferentialResult",
    "DropMessage",
    "DuplicateMessage",
    "ExponentialLatency",
    "FaultEvent",
    "FaultSchedule",
    "FixedLatency",
    "LinkModel",
    "LinkOverride",
    "Minimised",
    "NetworkModel",
    "Partition",
    "RunFailure",
    "RunResult",
    "ShrinkResult",
    "SimulationConfig",
    "SimulationFixture",
    "SimulationReport",
    "Simulator",
    "TraceIssue",
    "TraceReport",
    "UniformLatency",
    "VirtualTimeEventLoop",
    "check_trace",
    "differential_check",
    "minimise_run",
    "read_fixture",
    "replay",
    "run_simulation",
    "run_virtual",
    "shrink",
    "simulate",
    "write_fixture",
]
