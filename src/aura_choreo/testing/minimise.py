"""Turn a failing simulated run into a minimal, replayable fixture.

`minimise_run` keeps the seed and shrinks what made the run fail: the network model (no loss, no
duplication, no reordering, fixed latency) and the fault schedule (delta debugging, then simpler
events), keeping only changes under which the run still fails *the same way* (same error type and
role), so shrinking cannot wander off to a different bug. `replay` runs a fixture again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from aura_choreo.projection.protocol_like import ProtocolSource
from aura_choreo.testing.fixtures import SimulationFixture
from aura_choreo.testing.shrink import shrink, simplify_fault
from aura_choreo.testing.simulation import (
    ExtensionsFactory,
    Roles,
    RunFailure,
    RunResult,
    SimulationConfig,
    run_simulation,
)
from aura_choreo.transports.faults import FaultSchedule
from aura_choreo.transports.network import FixedLatency, LinkModel, NetworkModel


@dataclass(frozen=True)
class Minimised:
    """The shrunk configuration, the failing run it still produces, and how much work that took."""

    config: SimulationConfig
    result: RunResult
    original_events: int
    tests_run: int

    def fixture(
        self, *, protocol: str | None = None, params: Mapping[str, int] | None = None
    ) -> SimulationFixture:
        """The replayable fixture of the minimal failing run."""
        note = (
            f"{self.result.failure} (shrunk from {self.original_events} events in {self.tests_run} runs)"
            if self.result.failure
            else ""
        )
        return SimulationFixture(
            seed=self.result.seed,
            network=self.config.network,
            schedule=self.config.schedule,
            protocol=protocol,
            params=dict(params or {}),
            note=note,
        )


def _same_failure(a: RunFailure | None, b: RunFailure | None) -> bool:
    return a is not None and b is not None and (a.error, a.role) == (b.error, b.role)


def _simpler_links(link: LinkModel) -> Iterator[LinkModel]:
    if link.drop:
        yield replace(link, drop=0.0)
    if link.duplicate:
        yield replace(link, duplicate=0.0)
    if link.reorder:
        yield replace(link, reorder=False)
    if link.bandwidth is not None:
        yield replace(link, bandwidth=None)
    if link.latency != FixedLatency(1.0):
        yield replace(link, latency=FixedLatency(1.0))


def _simpler_networks(network: NetworkModel) -> Iterator[NetworkModel]:
    if network.links:
        yield replace(network, links=())
    for link in _simpler_links(network.default):
        yield replace(network, default=link)


def minimise_run(
    protocol: ProtocolSource,
    seed: int,
    config: SimulationConfig,
    *,
    roles: Roles | None = None,
    extensions: ExtensionsFactory | None = None,
    devices: Mapping[str, str] | None = None,
    max_runs: int = 500,
) -> Minimised:
    """Shrink the fault schedule and network of a failing run; raises ValueError if it does not fail."""
    runs = 0

    def run(candidate: SimulationConfig) -> RunResult:
        nonlocal runs
        runs += 1
        return run_simulation(protocol, seed, candidate, roles=roles, extensions=extensions, devices=devices)

    original = run(config)
    if original.failure is None:
        raise ValueError(f"seed {seed} does not fail under this configuration")
    target = original.failure

    def schedule_fails(schedule: FaultSchedule) -> bool:
        return _same_failure(run(replace(current, schedule=schedule)).failure, target)

    def simplify_network(start: SimulationConfig) -> SimulationConfig:
        simplest, progress = start, True
        while progress and runs < max_runs:
            progress = False
            for network in _simpler_networks(simplest.network):
                candidate = replace(simplest, network=network)
                if _same_failure(run(candidate).failure, target):
                    simplest, progress = candidate, True
                    break
        return simplest

    # The network first: a fixture without random loss is easier to read, and the schedule shrinks
    # further once the noise is gone; then the network again, in case the schedule was what needed it.
    current = simplify_network(config)
    shrunk = shrink(current.schedule, schedule_fails, simplify=simplify_fault, max_tests=max_runs)
    current = simplify_network(replace(current, schedule=shrunk.items))
    final = run(current)
    return Minimised(current, final, len(config.schedule), runs)


def replay(
    protocol: ProtocolSource,
    fixture: SimulationFixture,
    *,
    base: SimulationConfig | None = None,
    roles: Roles | None = None,
    extensions: ExtensionsFactory | None = None,
    devices: Mapping[str, str] | None = None,
) -> RunResult:
    """Run a fixture's seed, network and schedule again (timeouts and horizon from `base`)."""
    config = replace(base or SimulationConfig(), network=fixture.network, schedule=fixture.schedule)
    return run_simulation(protocol, fixture.seed, config, roles=roles, extensions=extensions, devices=devices)
