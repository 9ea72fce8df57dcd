"""`--crash R@T:wipe`: a role loses its memory mid-session and restarts from its journaled checkpoint.

For two-phase commit and every corpus protocol with `try/compensate`, over many seeds, a random role is
wiped at a random time (restarting at once or after an outage), and sometimes a body step of a random
role fails (so the saga compensates). Every session must complete: each role reaches its end, the trace
conforms to the protocol, each try block is settled one way (Commit or Compensate, never both), a
committed session delivers no compensation, and a compensated one delivers exactly the compensation
the same run without the crash delivers, in the same order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aura_choreo.errors import ChoreographyError
from aura_choreo.projection.local_types import LocalType, Send, Try, iter_steps
from aura_choreo.protocol import Protocol, load_all
from aura_choreo.runtime.runner import RoleCode
from aura_choreo.testing.results import RunResult
from aura_choreo.testing.simulation import SimulationConfig, Simulator, with_trace_check
from aura_choreo.transports.faults import Crash
from conftest import SEED_CORPUS

ROOT = Path(__file__).resolve().parents[2]
SHARED = SEED_CORPUS.parent


def _saga_files() -> list[Path]:
    files = [ROOT / "examples" / "two_phase_commit.choreo"]
    for folder in (SHARED / "seeds", SHARED / "literature"):
        files += sorted(p for p in folder.glob("*.choreo") if "compensate" in p.read_text())
    return files


def _protocols() -> Iterator[Protocol]:
    for path in _saga_files():
        yield from load_all(str(path)).values()


class FailAt:
    """A behaviour whose payload for `label` raises (a failing body step), default otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __getattr__(self, name: str) -> Any:
        if name == self.label:

            def fail(env: dict[str, object]) -> object:
                raise RuntimeError(f"injected failure producing {name}")

            return fail
        raise AttributeError(name)


def _tries(local_type: LocalType) -> list[Try]:
    return [s for s in local_type.iter_steps() if isinstance(s, Try)]


def _body_sends(protocol: Protocol) -> list[tuple[str, str]]:
    """(role, label) of every send inside a try body."""
    found = []
    for role, local_type in protocol.local_types().items():
        for block in _tries(local_type):
            found += [(role, s.label) for s in iter_steps(block.body) if isinstance(s, Send)]
    return sorted(set(found))


def _comp_labels(protocol: Protocol) -> set[str]:
    return {
        s.label
        for lt in protocol.local_types().values()
        for block in _tries(lt)
        for s in iter_steps(block.comp)
        if isinstance(s, Send)
    }


def _compensation(
    result: RunResult, comp: set[str]
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """The compensation messages sent, in the order they were sent, and those delivered (sorted: arrival
    order across receivers depends on who was down when)."""
    sent = [(e.sender, e.receiver, e.label) for e in result.trace.of_kind("send") if e.label in comp]
    delivered = sorted((e.sender, e.receiver, e.label) for e in result.trace.deliveries() if e.label in comp)
    return sent, delivered


def _verdicts(result: RunResult) -> set[str]:
    sent = [e for e in result.trace if e.is_control and e.kind == "send"]
    return {e.label for e in sent if e.label in ("Commit", "Compensate")}


def check_wipes(protocol: Protocol, seeds: range, wipes: int = 1) -> tuple[int, int, int]:
    """Run the seeds; returns (runs restarted mid-session, committed, compensated)."""
    plan: dict[str, str] = {}

    def roles(role: str) -> RoleCode:
        return FailAt(plan["label"]) if plan.get("role") == role else None

    simulator = Simulator(protocol, roles=roles)
    comp = _comp_labels(protocol)
    steps = _body_sends(protocol)
    restarted = committed = compensated = 0
    single_try = max((len(_tries(lt)) for lt in protocol.local_types().values()), default=0) == 1
    try:
        plan.clear()
        length = simulator.run(0, SimulationConfig(peer_timeout=30.0)).duration * 1000
        for seed in seeds:
            rng = random.Random(seed)
            plan.clear()
            if steps and rng.random() < 0.5:
                plan["role"], plan["label"] = rng.choice(steps)
            schedule = []
            for _ in range(wipes):  # several: a role may be wiped again, even while it restarts
                role = rng.choice(protocol.roles)
                at = rng.uniform(0, length)
                back = at if rng.random() < 0.5 else at + rng.uniform(0, 50)
                schedule.append(Crash(role, at, back, keep_journal=False))
            reference = simulator.run(seed, SimulationConfig(peer_timeout=30.0))
            config = SimulationConfig(schedule=tuple(schedule), peer_timeout=30.0)
            result = with_trace_check(protocol, simulator.run(seed, config))
            where = f"{protocol.name} seed {seed}: wipes {schedule} plan {plan}"
            assert result.ok, f"{where}: {result.failure}"
            assert reference.ok, f"{where}: reference {reference.failure}"
            verdicts = _verdicts(result)
            if single_try:
                assert verdicts != {"Commit", "Compensate"}, where
            if "Compensate" in verdicts:
                compensated += 1
                assert _compensation(result, comp) == _compensation(reference, comp), where
            elif verdicts:
                committed += 1
                assert _compensation(result, comp) == ([], []), where
            restarted += bool(result.restarted and result.restarted[0][1] > 0)
    finally:
        simulator.close()
    return restarted, committed, compensated


SAGAS = list(_protocols())


def test_the_corpus_has_sagas_to_crash() -> None:
    names = {p.name for p in SAGAS}
    assert "TwoPhaseCommit" in names and "CompensatingTransaction" in names


@pytest.mark.parametrize("protocol", SAGAS, ids=lambda p: p.name)
def test_a_wiped_role_restarts_from_its_checkpoint_and_every_session_completes(protocol: Protocol) -> None:
    restarted, committed, compensated = check_wipes(protocol, range(30))
    assert restarted >= 10  # most wipes hit the role mid-session (not before its first step or after its end)
    if _body_sends(protocol):
        assert committed and compensated


@pytest.mark.parametrize("protocol", SAGAS, ids=lambda p: p.name)
def test_roles_wiped_several_times_and_during_their_restart_still_complete(protocol: Protocol) -> None:
    restarted, _, _ = check_wipes(protocol, range(100, 115), wipes=4)
    assert restarted >= 5


@pytest.mark.slow
@pytest.mark.parametrize("protocol", SAGAS, ids=lambda p: p.name)
def test_repeated_wipes_over_200_seeds(protocol: Protocol) -> None:
    restarted, _, _ = check_wipes(protocol, range(200), wipes=4)
    assert restarted >= 80


@pytest.mark.slow
@pytest.mark.parametrize("protocol", SAGAS, ids=lambda p: p.name)
def test_wipes_at_random_times_over_200_seeds(protocol: Protocol) -> None:
    restarted, committed, compensated = check_wipes(protocol, range(200))
    assert restarted >= 80  # the rest were wiped before their first step or after their last
    if _body_sends(protocol):
        assert committed >= 20 and compensated >= 20


def _corpus() -> Iterator[Protocol]:
    for folder in (SHARED / "seeds", SHARED / "literature"):
        for path in sorted(folder.glob("*.choreo")):
            try:
                yield from load_all(str(path)).values()
            except ChoreographyError:
                continue  # the corpus holds invalid files too (for the diagnostics' tests)


@pytest.mark.slow
def test_wipes_of_any_role_of_every_corpus_protocol_resume_and_complete() -> None:
    """Beyond sagas: par blocks, loops, timeouts, quorums; each run that completes without the wipe
    must complete with it."""
    checked = 0
    for protocol in _corpus():
        simulator = Simulator(protocol)
        try:
            clean = with_trace_check(protocol, simulator.run(0, SimulationConfig(peer_timeout=30.0)))
            if not clean.ok:
                continue  # needs user behaviours or parameters to run at all
            length = clean.duration * 1000
            rng = random.Random(1)
            for seed in range(25):
                if not simulator.run(seed, SimulationConfig(peer_timeout=30.0)).ok:
                    continue
                role = rng.choice(protocol.roles)
                at = rng.uniform(0, length)
                back = at + rng.choice([0.0, rng.uniform(0, 50)])
                wipe = Crash(role, at, back, keep_journal=False)
                result = simulator.run(seed, SimulationConfig(schedule=(wipe,), peer_timeout=30.0))
                result = with_trace_check(protocol, result)
                assert result.ok, (
                    f"{protocol.name} seed {seed}: wipe {role}@{at:.3f}..{back:.3f}: {result.failure}"
                )
                checked += 1
        finally:
            simulator.close()
    assert checked > 500
