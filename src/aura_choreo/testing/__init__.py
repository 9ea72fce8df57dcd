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
    from aura_choreo.testing.differential import differential_check
    from aura_choreo.testing.fixtures import read_fixture, write_fixture
    from aura_choreo.testing.minimise import minimise_run, replay
    from aura_choreo.testing.results import RunFailure, RunResult, SimulationConfig, SimulationReport
    from aura_choreo.testing.shrink import shrink
    from aura_choreo.testing.simulation import Simulator, run_simulation, simulate
    from aura_choreo.testing.trace_check import TraceIssue, TraceReport, check_trace
    from aura_choreo.testing.virtual_time import VirtualTimeEventLoop, run_virtual

_LAZY_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["differential_check"], "aura_choreo.testing.differential"),
    **dict.fromkeys(["read_fixture", "write_fixture"], "aura_choreo.testing.fixtures"),
    **dict.fromkeys(["minimise_run", "replay"], "aura_choreo.testing.minimise"),
    **dict.fromkeys(
        ["RunFailure", "RunResult", "SimulationConfig", "SimulationReport"], "aura_choreo.testing.results"
    ),
    **dict.fromkeys(["shrink"], "aura_choreo.testing.shrink"),
    **dict.fromkeys(["Simulator", "run_simulation", "simulate"], "aura_choreo.testing.simulation"),
    **dict.fromkeys(["TraceIssue", "TraceReport", "check_trace"], "aura_choreo.testing.trace_check"),
    **dict.fromkeys(["VirtualTimeEventLoop", "run_virtual"], "aura_choreo.testing.virtual_time"),
}


def __getattr__(name: str) -> object:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aura_choreo.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "RunFailure",
    "RunResult",
    "SimulationConfig",
    "SimulationReport",
    "Simulator",
    "TraceIssue",
    "TraceReport",
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
