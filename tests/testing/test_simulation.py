"""Simulated sessions: determinism, masked faults, partitions, crashes, budgets, stuck runs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from aura_choreo import Protocol, choreography, load
from aura_choreo.testing.simulation import SimulationConfig, run_simulation, simulate
from aura_choreo.testing.trace_check import check_trace
from aura_choreo.transports.faults import BudgetExhaustion, Crash, Partition
from aura_choreo.transports.network import LinkModel, NetworkModel, UniformLatency
from conftest import SEED_CORPUS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LOSSY = NetworkModel(LinkModel(latency=UniformLatency(1, 40), drop=0.3, duplicate=0.3))


@pytest.fixture(scope="module")
def tpc() -> Protocol:
    return load(EXAMPLES / "two_phase_commit.choreo")


@pytest.fixture(scope="module")
def saga() -> Protocol:
    return load(SEED_CORPUS / "003_CompensatingTransaction.choreo")


def role_view(events: object) -> dict[str, list[tuple[str, str, str, str]]]:
    """Each role's events without times: what the protocol level saw."""
    view: dict[str, list[tuple[str, str, str, str]]] = {}
    for e in events:  # type: ignore[attr-defined]
        view.setdefault(e.role, []).append((e.kind, e.sender, e.receiver, e.label))
    return view


def test_identical_seeds_give_identical_traces_byte_for_byte(tpc: Protocol) -> None:
    config = SimulationConfig(network=LOSSY)
    first = run_simulation(tpc, 7, config)
    again = run_simulation(tpc, 7, config)
    assert first.trace.to_jsonl() == again.trace.to_jsonl()
    assert first.transport == again.transport
    assert first.duration == again.duration


def test_different_seeds_give_different_network_histories(tpc: Protocol) -> None:
    config = SimulationConfig(network=LOSSY)
    traces = {run_simulation(tpc, seed, config).trace.to_jsonl() for seed in range(6)}
    assert len(traces) > 1


@pytest.mark.parametrize("seed", range(8))
def test_drops_and_duplicates_up_to_30_percent_do_not_change_the_protocol_outcome(
    tpc: Protocol, seed: int
) -> None:
    clean = run_simulation(tpc, seed)
    lossy = run_simulation(tpc, seed, SimulationConfig(network=LOSSY))
    assert clean.ok and lossy.ok, lossy.failure
    # The network really misbehaved in this run (else the equal outcome below would prove nothing):
    # it lost or duplicated frames (which of the two depends on how many frames the seed's run sends).
    assert lossy.transport.lost > 0 or lossy.transport.duplicated > 0, lossy.transport
    assert role_view(lossy.trace) == role_view(clean.trace)
    assert check_trace(tpc, lossy.trace).ok


def test_lossy_network_really_loses_and_duplicates_frames(tpc: Protocol) -> None:
    report = simulate(tpc, seed=0, runs=10, config=SimulationConfig(network=LOSSY))
    assert report.ok
    assert sum(r.transport.lost for r in report.runs) > 5
    assert sum(r.transport.duplicated for r in report.runs) > 5


def test_partition_longer_than_the_receive_timeout_is_a_peer_timeout(tpc: Protocol) -> None:
    config = SimulationConfig(schedule=(Partition(("Participant",), 0.0, 60_000.0),), peer_timeout=5.0)
    result = run_simulation(tpc, 1, config)
    assert result.failure is not None
    assert result.failure.error == "PeerTimeout"
    assert result.failure.role in ("Coordinator", "Participant")
    assert result.failure.step == "step 1" or result.failure.step == "step 2"
    assert result.duration == pytest.approx(5.0, abs=0.01)


def test_partition_shorter_than_the_receive_timeout_is_healed_by_retransmission(tpc: Protocol) -> None:
    config = SimulationConfig(schedule=(Partition(("Participant",), 0.0, 3_000.0),), peer_timeout=5.0)
    result = run_simulation(tpc, 1, config)
    assert result.ok, result.failure
    assert result.duration > 3.0
    assert check_trace(tpc, result.trace).ok


def test_partition_longer_than_a_timeout_block_takes_the_timeout_branch() -> None:
    protocol = load(SEED_CORPUS / "003_RobustRequest.choreo")
    config = SimulationConfig(schedule=(Partition(("Server",), 0.0, 40_000.0),), peer_timeout=120.0)
    result = run_simulation(protocol, 3, config)
    assert result.ok, result.failure
    client = [(e.kind, e.label) for e in result.trace if e.role == "Client"]
    assert client == [("send", "Request"), ("timeout", "timeout"), ("local", "HandleTimeout")]
    assert check_trace(protocol, result.trace).ok


def test_crash_mid_saga_triggers_compensation(saga: Protocol) -> None:
    # ServiceB dies before AllocateResource reaches it; the coordinator times out inside the try body.
    config = SimulationConfig(schedule=(Crash("ServiceB", 1.5),), peer_timeout=2.0)
    result = run_simulation(saga, 1, config)
    assert result.crashed == ("ServiceB",)
    assert result.failure is not None and result.failure.error == "Crashed"
    assert result.failure.role == "ServiceB"
    coordinator = [(e.kind, e.receiver, e.label) for e in result.trace if e.role == "Coordinator"]
    assert ("send", "ServiceA", "Compensate") in coordinator
    assert ("send", "ServiceB", "ReleaseAllocation") in coordinator
    assert ("send", "ServiceA", "ReleaseReservation") in coordinator
    assert ("send", "ServiceB", "AllocationConfirmed") not in coordinator
    service_a = [(e.kind, e.label) for e in result.trace if e.role == "ServiceA"]
    assert service_a[-2:] == [("recv", "Compensate"), ("recv", "ReleaseReservation")]
    assert check_trace(saga, result.trace, complete=False).ok


def test_saga_without_faults_commits(saga: Protocol) -> None:
    result = run_simulation(saga, 1)
    assert result.ok
    labels = [e.label for e in result.trace if e.role == "Coordinator" and e.kind == "send"]
    assert "Commit" in labels and "Compensate" not in labels


def test_crash_with_restart_and_journal_only_delays_the_session(tpc: Protocol) -> None:
    config = SimulationConfig(schedule=(Crash("Participant", 0.5, restart_ms=2_000.0, keep_journal=True),))
    result = run_simulation(tpc, 2, config)
    assert result.ok, result.failure
    assert result.duration > 2.0


def test_a_wiped_role_restarts_from_its_checkpoint_and_the_session_completes(tpc: Protocol) -> None:
    # issue 17: a wipe loses the role's memory; it restarts from its journaled checkpoint
    config = SimulationConfig(
        schedule=(Crash("Participant", 1.5, restart_ms=2_000.0, keep_journal=False),), peer_timeout=5.0
    )
    result = run_simulation(tpc, 2, config)
    assert result.ok, result.failure
    assert result.crashed == ()
    assert result.restarted == (("Participant", 2),)  # wiped after receiving PrepareRequest and voting
    assert result.duration > 2.0


def test_a_wiped_imperative_role_is_lost(tpc: Protocol) -> None:
    async def participant(ep: Any) -> None:
        await ep.recv("Coordinator")
        await asyncio.sleep(10)

    config = SimulationConfig(
        schedule=(Crash("Participant", 1.5, restart_ms=2_000.0, keep_journal=False),), peer_timeout=5.0
    )
    result = run_simulation(tpc, 2, config, roles={"Participant": participant})
    assert result.failure is not None
    assert result.failure.error in ("PeerTimeout", "Crashed")
    assert result.crashed == ("Participant",)


def test_scheduled_budget_exhaustion_fails_the_sender_with_budget_exhausted(tpc: Protocol) -> None:
    config = SimulationConfig(schedule=(BudgetExhaustion("Participant", 0.0, peer="Coordinator"),))
    result = run_simulation(tpc, 1, config)
    assert result.failure is not None
    assert result.failure.error == "BudgetExhausted"
    assert result.failure.role == "Participant"
    assert result.failure.step == "step 2"


def test_a_run_that_never_ends_is_reported_stuck_at_the_horizon(tpc: Protocol) -> None:
    config = SimulationConfig(
        schedule=(Partition(("Participant",), 0.0, 10**9),), peer_timeout=None, horizon=100.0
    )
    result = run_simulation(tpc, 1, config)
    assert result.failure is not None and result.failure.error == "Stuck"
    assert result.failure.role == "Coordinator"
    assert "receive PrepareResponse from Participant" in result.failure.message
    assert result.duration == pytest.approx(100.0)


def test_user_behaviours_drive_decisions() -> None:
    protocol = choreography(
        """
        choreography Shop {
            roles: Client, Server;
            choice Client {
                buy: { Client -> Server: Purchase(item: String); }
                leave: { Client -> Server: Cancel; }
            }
        }
        """
    )

    class Buyer:
        def choose_buy_or_leave(self, env: object) -> str:
            return "buy"

        def Purchase(self, env: object) -> dict[str, str]:
            return {"item": "book"}

    for seed in range(5):
        result = run_simulation(protocol, seed, roles={"Client": Buyer()})
        assert result.ok
        assert [e.label for e in result.trace.deliveries()] == ["Purchase"]


def test_role_factory_gets_fresh_behaviour_per_run() -> None:
    protocol = choreography("choreography Ping { roles: A, B; A -> B: Ping(n: u32); B -> A: Pong; }")
    made: list[str] = []

    def factory(role: str) -> object:
        made.append(role)
        return None

    report = simulate(protocol, seed=0, runs=3, roles=factory)
    assert report.ok
    assert made == ["A", "B"] * 3


def test_behaviour_exception_is_a_failed_run_not_a_crash_of_the_harness() -> None:
    protocol = choreography("choreography Ping { roles: A, B; A -> B: Ping(n: u32); }")

    class Broken:
        def Ping(self, env: object) -> object:
            raise RuntimeError("boom")

    result = run_simulation(protocol, 0, roles={"A": Broken()})
    assert result.failure is not None
    # The user's behaviour raised (not the harness): a typed failure naming the role and step.
    assert result.failure.error == "BehaviourError"
    assert (result.failure.role, result.failure.step) == ("A", "send Ping to B")
    assert "Broken raised RuntimeError: boom" in result.failure.message


def test_report_json_follows_the_spec_shape(tpc: Protocol) -> None:
    config = SimulationConfig(schedule=(BudgetExhaustion("Participant", 0.0),))
    report = simulate(tpc, seed=4, runs=2, config=config)
    data = report.to_json()
    assert data["ok"] is False and data["runs"] == 2 and data["failed_runs"] == 2
    failure = data["failures"][0]  # type: ignore[index]
    assert {"seed", "error", "role", "message"} <= set(failure)
    assert failure["seed"] == 4 and failure["error"] == "BudgetExhausted"
    first_delivery = {"from": "Coordinator", "to": "Participant", "label": "PrepareRequest", "time": 0.001}
    assert data["trace"] == [first_delivery]


def test_runs_in_a_batch_equal_the_same_seeds_run_alone(tpc: Protocol) -> None:
    config = SimulationConfig(network=LOSSY, schedule=(Partition(("Participant",), 10.0, 400.0),))
    batch = simulate(tpc, seed=3, runs=6, config=config)
    alone = [run_simulation(tpc, seed, config) for seed in range(3, 9)]
    assert [r.trace.to_jsonl() for r in batch.runs] == [r.trace.to_jsonl() for r in alone]
    assert [r.duration for r in batch.runs] == [r.duration for r in alone]


def test_with_trace_check_fails_a_finished_run_whose_trace_departs(tpc: Protocol) -> None:
    from dataclasses import replace

    from aura_choreo.runtime.trace import Trace
    from aura_choreo.testing.simulation import with_trace_check

    good = run_simulation(tpc, 1)
    assert with_trace_check(tpc, good) is good
    tampered = replace(good, trace=Trace(list(good.trace)[:-1]))
    checked = with_trace_check(tpc, tampered)
    assert checked.failure is not None and checked.failure.error == "TraceCheckFailed"
    assert checked.failure.role == "Coordinator"


def test_a_policy_missing_a_later_roles_capability_refuses_the_run_before_any_frame(tmp_path: Path) -> None:
    from aura_choreo.guards import guard_registry, load_policy
    from aura_choreo.journal import JournalStore

    admin = load(SEED_CORPUS / "000_AdminOperations.choreo")
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(  # Admin (first to run) is allowed; Moderator lacks verify_users
        '[devices.Admin]\ncapabilities = ["admin_access", "modify_permissions", "audit_logs"]\n'
        '[devices.Moderator]\ncapabilities = ["moderate_content"]\n',
        encoding="utf-8",
    )
    policy = load_policy(policy_file)
    store = JournalStore(":memory:")
    result = run_simulation(
        admin,
        1,
        extensions=lambda clock: guard_registry(policy, clock=clock, store=store),
        devices=policy.session_devices(admin.roles),
    )
    assert result.failure is not None
    assert (result.failure.error, result.failure.role) == ("CapabilityDenied", "Moderator")
    assert "verify_users" in result.failure.message
    assert result.transport.sent == 0
    assert len(result.trace) == 0
    assert [owner for owner in store.owners() if store.load_facts(owner)] == []


def test_the_simulator_builds_behaviour_hints_once_for_all_its_runs(
    tpc: Protocol, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aura_choreo.runtime.behaviour import ProtocolHints

    built: list[object] = []
    original = ProtocolHints.from_local_types

    def counting(local_types: object) -> ProtocolHints:
        built.append(local_types)
        return original(local_types)  # type: ignore[arg-type]

    monkeypatch.setattr(ProtocolHints, "from_local_types", staticmethod(counting))
    report = simulate(tpc, runs=3)
    assert report.ok
    assert len(built) == 1
