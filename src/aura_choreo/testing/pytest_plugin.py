"""The pytest plugin (registered as the `aura_choreo` entry point): the `choreo_sim` fixture.

    def test_participant_aborts_when_asked(choreo_sim):
        report = choreo_sim.run("tpc.choreo", {"Participant": MyParticipant()}, runs=20, drop=0.1)
        choreo_sim.assert_ok(report)

Every run is a full session on the simulated network (virtual time, seeded) and each finished run's
trace is checked against the global protocol. This module imports only pytest at import time, so a
broken protocol never breaks test collection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from aura_choreo.effects.stack import MiddlewareFactory
    from aura_choreo.guards import Policy
    from aura_choreo.protocol import Protocol
    from aura_choreo.testing.simulation import Roles, SimulationReport
    from aura_choreo.transports.faults import FaultEvent
    from aura_choreo.transports.network import Latency


@dataclass(frozen=True)
class ChoreoSim:
    """Run protocols with user behaviours on the simulator in one call."""

    base_dir: Path
    """Relative protocol paths are found from here (the directory of the test file)."""

    def load(self, protocol: Protocol | str | Path, params: Mapping[str, int] | None = None) -> Protocol:
        """A `Protocol` from a path (relative to the test file), choreography text, or a Protocol."""
        from aura_choreo.protocol import Protocol, choreography, load

        if isinstance(protocol, Protocol):
            return protocol.bind(**params) if params else protocol
        if isinstance(protocol, Path) or (isinstance(protocol, str) and protocol.endswith(".choreo")):
            path = Path(protocol)
            return load(path if path.is_absolute() else self.base_dir / path, params=params)
        if isinstance(protocol, str):
            return choreography(protocol, params=params)
        raise TypeError(
            f"expected a Protocol, a .choreo path or choreography text, got {type(protocol).__name__}"
        )

    def run(
        self,
        protocol: Protocol | str | Path,
        roles: Roles | None = None,
        *,
        seed: int = 0,
        runs: int = 1,
        drop: float = 0.0,
        duplicate: float = 0.0,
        latency: Latency | None = None,
        reorder: bool = False,
        faults: tuple[FaultEvent, ...] = (),
        params: Mapping[str, int] | None = None,
        peer_timeout: float | None = 30.0,
        check: bool = True,
        policy: Policy | str | Path | None = None,
        effect_middleware: Iterable[MiddlewareFactory] = (),
    ) -> SimulationReport:
        """Simulate `runs` sessions (seeds `seed`...) with these behaviours, network and faults.

        With `policy` (a `Policy` or a policy file, relative to the test file) every run has the guard
        chain, and role code's `journal_facts` reads its journals; `effect_middleware` wraps every role's
        effect handler (e.g. an `effects.EffectLog`)."""
        from aura_choreo.guards import Policy, guard_registry, load_policy
        from aura_choreo.testing.simulation import ExtensionsFactory, SimulationConfig, simulate
        from aura_choreo.transports.network import FixedLatency, LinkModel, NetworkModel

        link = LinkModel(
            latency=latency or FixedLatency(1.0), drop=drop, duplicate=duplicate, reorder=reorder
        )
        config = SimulationConfig(network=NetworkModel(link), schedule=faults, peer_timeout=peer_timeout)
        loaded = self.load(protocol, params)
        extensions: ExtensionsFactory | None = None
        devices = None
        if policy is not None:
            if not isinstance(policy, Policy):
                path = Path(policy)
                policy = load_policy(path if path.is_absolute() else self.base_dir / path)
            chosen = policy
            extensions = lambda clock: guard_registry(chosen, clock=clock)  # noqa: E731
            devices = chosen.session_devices(loaded.roles)
        return simulate(
            loaded,
            seed=seed,
            runs=runs,
            config=config,
            roles=roles,
            check=check,
            extensions=extensions,
            devices=devices,
            effect_middleware=effect_middleware,
        )

    @staticmethod
    def assert_ok(report: SimulationReport) -> None:
        """Fail the test with every failing seed, role and step if any run failed."""
        if not report.ok:
            pytest.fail(f"simulation failed:\n{report.summary()}", pytrace=False)


@pytest.fixture
def choreo_sim(request: pytest.FixtureRequest) -> ChoreoSim:
    """Run a protocol with your behaviours on the simulated network: `choreo_sim.run(path, roles, ...)`."""
    return ChoreoSim(Path(request.path).parent)
