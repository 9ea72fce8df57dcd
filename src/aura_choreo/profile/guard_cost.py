"""The guard chain's cost per send, measured in one simulated run under a permissive policy.

The policy grants every role its manifest and budgets far above the protocol's worst case, so every
send goes through every stage of the chain (capability, flow, leakage, journal, receipt) and none is
denied: what is measured is the chain's own cost. Times are wall-clock and vary between machines.
"""

from __future__ import annotations

from dataclasses import dataclass

from aura_choreo.guards import build_guard_extension
from aura_choreo.guards.extension import GuardExtension
from aura_choreo.guards.metrics import STAGES
from aura_choreo.guards.policy_file import parse_policy
from aura_choreo.protocol import Protocol
from aura_choreo.runtime import ExtensionRegistry
from aura_choreo.testing import simulate
from aura_choreo.verify import role_manifest

_GENEROUS = 10**12


@dataclass(frozen=True)
class GuardCost:
    """Sends the chain let through in the run, and its mean time per send (in total and per stage)."""

    sends: int
    seconds_per_send: float
    stage_seconds_per_send: dict[str, float]
    ok: bool
    error: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "sends": self.sends,
            "microseconds_per_send": round(self.seconds_per_send * 1e6, 2),
            "stages_microseconds": {k: round(v * 1e6, 2) for k, v in self.stage_seconds_per_send.items()},
            "ok": self.ok,
            **({"error": self.error} if self.error else {}),
        }


def measure_guard_cost(protocol: Protocol, seed: int = 0) -> GuardCost:
    """Run `protocol` once on the simulator with the guard chain on and read the chain's metrics."""
    devices = {
        role: {
            "capabilities": sorted(role_manifest(lt)),
            "flow_limit": _GENEROUS,
            "leakage_limits": [_GENEROUS] * 3,
        }
        for role, lt in protocol.local_types().items()
    }
    policy = parse_policy({"devices": devices, "signing": True}, source="<profile>")
    extensions: list[GuardExtension] = []

    def factory(clock: object) -> ExtensionRegistry:
        extension = build_guard_extension(policy, clock=clock)  # type: ignore[arg-type]
        extensions.append(extension)
        return extension.install(ExtensionRegistry())

    report = simulate(
        protocol, seed=seed, runs=1, extensions=factory, devices=policy.session_devices(protocol.roles)
    )
    sends = sum(e.chain.metrics.sends_committed for e in extensions)
    stage_total = dict.fromkeys(STAGES, 0.0)
    for e in extensions:
        for stage, seconds in e.chain.metrics.stage_seconds.items():
            stage_total[stage] = stage_total.get(stage, 0.0) + seconds
    per = max(sends, 1)
    failure = report.failures[0].failure if report.failures else None
    return GuardCost(
        sends,
        sum(stage_total.values()) / per,
        {k: v / per for k, v in stage_total.items()},
        not report.failures,
        str(failure) if failure is not None else "",
    )
