"""Edge cases of trace checking: quorum stragglers after the end, empty traces."""

from __future__ import annotations

from aura_choreo import choreography
from aura_choreo.testing.results import SimulationConfig
from aura_choreo.testing.simulation import simulate
from aura_choreo.testing.trace_check import check_trace
from aura_choreo.transports.network import LinkModel, NetworkModel, UniformLatency

THRESHOLD = """
choreography Threshold {
    roles: Coordinator, Signers[5]
    Coordinator -> Signers[*]: SignRequest(digest: bytes)
    Signers[*][min_responses = 3] -> Coordinator: Share(share: bytes)
    Coordinator -> Signers[*]: Done
}
"""


def test_quorum_stragglers_arriving_after_the_end_pass_the_trace_check() -> None:
    protocol = choreography(THRESHOLD)
    slow = NetworkModel(LinkModel(latency=UniformLatency(1.0, 50.0), drop=0.2))
    report = simulate(protocol, seed=0, runs=10, config=SimulationConfig(network=slow), check=True)
    assert report.ok, [str(r.failure) for r in report.failures]
    stragglers = 0
    for run in report.runs:
        result = check_trace(protocol, run.trace)
        assert result.ok, [issue.message for issue in result.issues]
        received = [e for e in run.trace if e.kind == "recv" and e.label == "Share"]
        stragglers += 5 - len(received)
    assert stragglers > 0  # the runs really had shares that arrived too late to be read


def test_a_share_that_was_never_sent_is_still_reported() -> None:
    protocol = choreography(THRESHOLD)
    run = simulate(protocol, seed=1, runs=1).runs[0]
    without_one_send = [
        e for e in run.trace if not (e.kind == "send" and e.label == "Share" and e.role == "Signers[4]")
    ]
    assert not check_trace(protocol, without_one_send).ok


def test_an_empty_trace_is_not_a_complete_run_but_is_a_valid_partial_one() -> None:
    protocol = choreography(THRESHOLD)
    report = check_trace(protocol, [])
    assert not report.ok
    assert "no events" in str(report.issues[0])
    assert "Coordinator" in str(report.issues[0])
    assert check_trace(protocol, [], complete=False).ok
