"""The differential check: the same protocol, behaviours and seed, in memory and on a fault-free simulation.

Both runs must finish and both traces must satisfy `check_trace`. Because behaviours are seeded the
same way in both modes, each role should also make the same sends, receives and choices (in a `par`,
possibly in another order): `same_steps` says whether it did.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from aura_choreo.projection.protocol_like import ProtocolSource
from aura_choreo.runtime.runner import RoleCode, run_session
from aura_choreo.runtime.session import start_session
from aura_choreo.runtime.trace import Trace, TraceEvent
from aura_choreo.testing.simulation import Roles, RunFailure, SimulationConfig, failure_of, run_simulation
from aura_choreo.testing.trace_check import TraceReport, check_trace
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.inmemory import InMemoryTransport


@dataclass(frozen=True)
class DifferentialResult:
    """Both runs' outcomes and trace checks."""

    in_memory_failure: RunFailure | None
    simulated_failure: RunFailure | None
    in_memory_check: TraceReport
    simulated_check: TraceReport
    same_steps: bool
    """Whether every role did the same steps (as a multiset) in both runs."""

    @property
    def ok(self) -> bool:
        return (
            self.in_memory_failure is None
            and self.simulated_failure is None
            and self.in_memory_check.ok
            and self.simulated_check.ok
        )

    def explain(self) -> str:
        """What went wrong, one line per problem (empty when ok)."""
        lines = []
        for mode, failure, check in (
            ("in memory", self.in_memory_failure, self.in_memory_check),
            ("simulated", self.simulated_failure, self.simulated_check),
        ):
            if failure is not None:
                lines.append(f"{mode}: {failure}")
            lines += [f"{mode}: {issue}" for issue in check.issues]
        return "\n".join(lines)


def _steps(events: Iterable[TraceEvent]) -> dict[str, Counter[tuple[str, str, str, str]]]:
    steps: dict[str, Counter[tuple[str, str, str, str]]] = {}
    for e in events:
        steps.setdefault(e.role, Counter())[(e.kind, e.sender, e.receiver, e.label)] += 1
    return steps


def _in_memory(protocol: ProtocolSource, seed: int, roles: Roles | None) -> tuple[Trace, RunFailure | None]:
    session = start_session(protocol, session_id=f"mem-{seed}")
    codes: dict[str, RoleCode] = {}
    for role in session.local_types:
        codes[role] = roles(role) if callable(roles) else (roles or {}).get(role)

    async def main() -> RunFailure | None:
        try:
            await run_session(session, InMemoryTransport(), codes, seed=seed)
        except Exception as exc:  # the run's outcome, reported like a simulated run's
            return failure_of(exc)
        return None

    failure = run_virtual(main())
    return session.trace, failure


def differential_check(
    protocol: ProtocolSource, *, seed: int = 0, roles: Roles | None = None
) -> DifferentialResult:
    """Run `protocol` in memory and on a fault-free simulated network with the same seed; check both."""
    memory_trace, memory_failure = _in_memory(protocol, seed, roles)
    simulated = run_simulation(protocol, seed, SimulationConfig(), roles=roles)
    return DifferentialResult(
        memory_failure,
        simulated.failure,
        check_trace(protocol, memory_trace, complete=memory_failure is None),
        check_trace(protocol, simulated.trace, complete=simulated.failure is None),
        _steps(memory_trace) == _steps(simulated.trace),
    )
