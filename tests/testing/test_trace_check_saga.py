"""A body message still in flight when compensation starts is abandoned (SPEC §4.6), not lost
(issue #11 item 7)."""

from __future__ import annotations

from aura_choreo.protocol import choreography
from aura_choreo.testing.results import SimulationConfig
from aura_choreo.testing.simulation import simulate
from aura_choreo.transports.network import LinkModel, NetworkModel, UniformLatency

SAGA = choreography(
    """
    protocol Saga {
        roles: C, A, B;
        try {
            C -> A: Start;
            A -> B: Data;
            C -> B: Extra;
            B -> C: Done;
        } compensate {
            C -> A: UndoA;
            C -> B: UndoB;
        }
    }
    """
)
DELAYED = SimulationConfig(network=NetworkModel(LinkModel(latency=UniformLatency(5.0, 50.0))))


class CoordinatorFails:
    """C's body fails while A's Data may still be on its way to B: the saga compensates."""

    def Extra(self, env: object) -> object:
        raise RuntimeError("no room")


def test_a_body_message_in_flight_when_compensation_starts_is_abandoned_not_lost() -> None:
    report = simulate(SAGA, runs=50, config=DELAYED, roles={"C": CoordinatorFails()}, check=True)
    assert report.ok, [str(r.failure) for r in report.failures[:3]]
    compensated = [r for r in report.runs if any(e.label == "UndoB" for e in r.trace.deliveries())]
    assert len(compensated) == 50


def test_a_committed_saga_still_has_every_message_accounted_for() -> None:
    report = simulate(SAGA, runs=20, config=DELAYED, check=True)
    assert report.ok, [str(r.failure) for r in report.failures[:3]]
