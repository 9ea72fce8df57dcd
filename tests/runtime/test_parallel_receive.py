"""Parallel branches sharing a channel: a message that a later step of another branch receives waits
in the inbox until that branch gets there (SPEC §3.4 allows the sender to interleave its branches);
a message no branch can ever take is still a violation."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aura_choreo.errors import ProtocolViolation
from aura_choreo.projection.local_types import LocalType, Par, Recv
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.monitor import Monitor
from aura_choreo.runtime.runner import run_session
from aura_choreo.testing.results import SimulationConfig
from aura_choreo.testing.simulation import simulate
from aura_choreo.transports.inmemory import InMemoryTransport
from aura_choreo.transports.network import LinkModel, NetworkModel, UniformLatency

SHARED = choreography(
    """
    choreography SharedPar {
        roles: A, B, W[2];
        parallel { B -> W[*]: Cast4; | A -> W[*]: Cast5; B -> W[*]: Cast6; }
    }
    """
)
WORKERS = ("W[0]", "W[1]")


pytestmark = pytest.mark.virtual_time  # sleeps and peer deadlines take virtual time, not wall-clock time


async def b_branch_two_first(ep: Endpoint) -> None:
    """B sends branch 2's Cast6 before branch 1's Cast4 (an interleaving the checker allows)."""
    for w in WORKERS:
        await ep.send(w, "Cast6")
    for w in WORKERS:
        await ep.send(w, "Cast4")


async def a_late(ep: Endpoint) -> None:
    await asyncio.sleep(0.05)  # Cast6 and Cast4 are queued at the workers before Cast5 arrives
    for w in WORKERS:
        await ep.send(w, "Cast5")


async def test_a_message_of_a_later_step_in_another_branch_waits_for_it() -> None:
    session = SHARED.session()
    await run_session(session, InMemoryTransport(), {"A": a_late, "B": b_branch_two_first})
    for w in WORKERS:
        got = [e.label for e in session.trace.of_kind("recv") if e.receiver == w]
        assert sorted(got) == ["Cast4", "Cast5", "Cast6"]
        assert got.index("Cast5") < got.index("Cast6")


async def test_imperative_receiver_may_take_the_enabled_message_behind_a_waiting_one() -> None:
    async def worker(ep: Endpoint) -> list[str]:
        await ep.recv("B", "Cast4")  # Cast6 is ahead of it on B's channel
        await ep.recv("A", "Cast5")
        await ep.recv("B", "Cast6")
        return ["ok"]

    roles: dict[str, object] = {"A": a_late, "B": b_branch_two_first}
    roles.update({w: worker for w in WORKERS})
    results = await run_session(SHARED.session(), InMemoryTransport(), roles)
    assert results["W[0]"] == ["ok"]


async def test_a_message_no_branch_can_take_is_still_a_violation() -> None:
    async def b_wrong(ep: Endpoint) -> None:
        for w in WORKERS:
            await ep.send(w, "Cast4")
        for w in WORKERS:
            await ep.send(w, "Cast6")

    async def worker(ep: Endpoint) -> None:
        await ep.recv("B", "Cast4")
        await ep.recv("A", "Cast5")
        await ep.recv("B", "Cast6")
        await ep.recv("B", "Cast6")  # a second Cast6: no step left receives it

    roles: dict[str, object] = {"A": a_late, "B": b_wrong}
    roles.update({w: worker for w in WORKERS})
    with pytest.raises(ProtocolViolation, match="W\\[0\\]"):
        await run_session(SHARED.session(), InMemoryTransport(), roles)


def _par_monitor() -> Monitor:
    # W's part of `parallel { B -> W: X; B -> W: Y; | B -> W: Z; A -> W: V; B -> W: U; }`
    par = Par(((Recv("B", "X"), Recv("B", "Y")), (Recv("B", "Z"), Recv("A", "V"), Recv("B", "U"))))
    return Monitor(LocalType("P", "W", (par, Recv("B", "After"))))


def test_only_a_later_step_reachable_through_the_fifo_channel_may_wait() -> None:
    monitor = _par_monitor()
    assert not monitor.accepts_receive("B", "Y")
    assert not monitor.receivable_later("B", "Y")  # X comes first on B's channel: Y is out of order
    assert monitor.receivable_later("B", "Y", ahead=("X",))  # X is queued before it: Y waits
    assert not monitor.receivable_later("B", "U")  # Z (B's) comes before U in that branch
    assert monitor.receivable_later("B", "U", ahead=("Z",))
    assert not monitor.receivable_later("B", "Nope", ahead=("X", "Z"))
    monitor.on_receive("B", "Z")
    assert monitor.receivable_later("B", "U")  # only A's V is before it now: B may interleave
    assert monitor.receivable_later("B", "After", ahead=("X", "Y", "U"))


@st.composite
def shared_par(draw: st.DrawFn) -> str:
    """A protocol of roles A, B, W[2] whose par branches share channels (labels are unique)."""
    senders = ["A", "B"]
    targets = ["W[*]", "W[0]", "W[1]"]
    branches = []
    for b in range(draw(st.integers(2, 3))):
        steps = []
        for s in range(draw(st.integers(1, 3))):
            label = f"M{b}x{s}"
            kind = draw(st.sampled_from(["cast", "cast", "relay"]))
            target = draw(st.sampled_from(targets))
            if kind == "relay":  # the other sender must hear from this one before it sends on
                first, second = draw(st.permutations(senders))
                steps.append(f"{first} -> {second}: {label}g; {second} -> {target}: {label};")
            else:
                steps.append(f"{draw(st.sampled_from(senders))} -> {target}: {label};")
        branches.append(" ".join(steps))
    return (
        "choreography Shared { roles: A, B, W[2]; A -> B: Start; parallel { "
        + " | ".join(branches)
        + " } B -> W[*]: End; }"
    )


FAULTS = {
    "clean": LinkModel(latency=UniformLatency(0.0, 8.0)),
    "drop_dup": LinkModel(latency=UniformLatency(0.0, 8.0), drop=0.2, duplicate=0.1),
}


@pytest.mark.parametrize("faults", sorted(FAULTS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=shared_par())
def test_parallel_blocks_with_shared_channels_run_on_every_seed(faults: str, source: str) -> None:
    protocol = choreography(source)
    config = SimulationConfig(network=NetworkModel(default=FAULTS[faults]), horizon=120.0)
    report = simulate(protocol, seeds=range(6), config=config, check=True)
    assert report.ok, f"{source}\n{report.summary()}"
