"""What a simulated run is given and what it gives back: configuration, failures, results, reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from aura_choreo.errors import AuraChoreoError, RuntimeProtocolError
from aura_choreo.runtime.session import DEFAULT_PEER_TIMEOUT
from aura_choreo.runtime.trace import Trace
from aura_choreo.transports.faults import FaultSchedule
from aura_choreo.transports.network import NetworkModel
from aura_choreo.transports.simulated import TransportStats


@dataclass(frozen=True)
class SimulationConfig:
    """The network, the faults, and the time limits of simulated runs (times in virtual seconds)."""

    network: NetworkModel = field(default_factory=NetworkModel)
    schedule: FaultSchedule = ()
    peer_timeout: float | None = DEFAULT_PEER_TIMEOUT
    horizon: float = 3600.0
    """A run still going after this long is stuck (e.g. retransmitting into a permanent partition)."""


@dataclass(frozen=True)
class RunFailure:
    """Why a run failed: the error's type name, the role and step it names, and its message."""

    error: str
    message: str
    role: str | None = None
    step: str | None = None

    def __str__(self) -> str:
        where = f"{self.role} at {self.step}" if self.role and self.step else self.role or "?"
        return f"{self.error} ({where}): {self.message}"


@dataclass(frozen=True)
class RunResult:
    """One simulated session: its seed, failure (None if every role reached its end) and trace."""

    seed: int
    session: str
    failure: RunFailure | None
    trace: Trace
    duration: float
    """Virtual seconds from start to the end of the run."""
    transport: TransportStats
    crashed: tuple[str, ...] = ()
    restarted: tuple[tuple[str, int], ...] = ()
    """(role, step it resumed at) for each restart from a checkpoint (`--crash R@T:wipe`), in order."""

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True)
class SimulationReport:
    """Every run of a simulation."""

    runs: tuple[RunResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.runs)

    @property
    def failures(self) -> tuple[RunResult, ...]:
        return tuple(r for r in self.runs if not r.ok)

    def summary(self) -> str:
        """A readable account: how many runs passed, and each failing seed with its role and step."""
        lines = [f"{len(self.runs) - len(self.failures)} of {len(self.runs)} runs ok"]
        lines += [f"  seed {r.seed}: {r.failure}" for r in self.failures]
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        """The `simulate --json` document (SPEC §7)."""
        first = self.runs[0].trace if self.runs else Trace()
        return {
            "ok": self.ok,
            "runs": len(self.runs),
            "failed_runs": len(self.failures),
            "failures": [
                {
                    "seed": r.seed,
                    "error": r.failure.error,
                    "role": r.failure.role,
                    "step": r.failure.step,
                    "message": r.failure.message,
                }
                for r in self.failures
                if r.failure is not None
            ],
            "trace": [
                {"from": e.sender, "to": e.receiver, "label": e.label, "time": round(e.time, 6)}
                for e in first.deliveries()
            ],
            "restarts": sum(len(r.restarted) for r in self.runs),
        }


def failure_of(exc: BaseException) -> RunFailure:
    """How an exception raised by a run is reported."""
    if isinstance(exc, RuntimeProtocolError):
        return RunFailure(type(exc).__name__, exc.detail, exc.role, exc.step)
    if isinstance(exc, AuraChoreoError):
        return RunFailure(type(exc).__name__, str(exc))
    return RunFailure(type(exc).__name__, f"the role's code raised: {exc}")
