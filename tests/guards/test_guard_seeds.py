"""The annotated seed protocols run under a capability and budget policy file, in memory and in
simulation; the journal then holds exactly the annotated facts of the path taken."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli
from aura_choreo.errors import CapabilityDenied
from aura_choreo.guards import (
    GuardExtension,
    Policy,
    build_guard_extension,
    load_policy,
    profile_from_annotations,
)
from aura_choreo.projection.local_types import Send
from aura_choreo.protocol import Protocol, load
from aura_choreo.runtime.runner import run_session
from aura_choreo.runtime.session import Session
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.inmemory import InMemoryTransport
from aura_choreo.transports.network import LinkModel, NetworkModel
from aura_choreo.transports.simulated import SimulatedTransport
from aura_choreo.verify import role_manifest
from conftest import SEED_CORPUS

ANNOTATED_SEEDS = [
    "000_AdminOperations",
    "000_PrivateMessaging",
    "000_ThresholdCoordination",
    "000_RingConsensus",
    "000_HierarchicalConsensus",
    "001_ComprehensiveProtocol",
    "001_BudgetedProtocol",
]


def seed(name: str) -> Protocol:
    return load(SEED_CORPUS / f"{name}.choreo")


def device(role: str) -> str:
    return f"{role.lower()}-device"


def manifests(protocol: Protocol) -> dict[str, list[str]]:
    return {role: sorted(role_manifest(lt)) for role, lt in protocol.local_types().items()}


def write_policy(tmp_path: Path, protocol: Protocol, held: dict[str, list[str]]) -> Path:
    """A TOML policy: each role on its own device holding `held[role]`; a file journal."""
    lines = [f'journal = "{tmp_path / "journal.db"}"', 'synchronous = "NORMAL"', "", "[roles]"]
    lines += [f'{role} = "{device(role)}"' for role in protocol.roles]
    for role in protocol.roles:
        lines += ["", f'[devices."{device(role)}"]', f"capabilities = {json.dumps(held.get(role, []))}"]
    path = tmp_path / "policy.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def guarded_session(protocol: Protocol, policy: Policy) -> tuple[Session, GuardExtension]:
    extension = build_guard_extension(policy, clock=lambda: 0.0)
    registry = extension.install(
        __import__("aura_choreo.runtime.extensions").runtime.extensions.ExtensionRegistry()
    )
    session = protocol.session(extensions=registry, devices=policy.session_devices(protocol.roles))
    assert isinstance(session, Session)
    return session, extension


def expected_facts(session: Session) -> Counter[tuple[str, str, str, str]]:
    """(device, role, label, fact) for every journal_facts name of every send in the trace."""
    facts: Counter[tuple[str, str, str, str]] = Counter()
    for event in session.trace:
        if event.kind != "send":
            continue
        for step in session.local_types[event.role].iter_steps():
            if isinstance(step, Send) and (step.to, step.label) == (event.receiver, event.label):
                for name in profile_from_annotations(step.annotations).journal_facts:
                    facts[(device(event.role), event.role, event.label, name)] += 1
                break
    return facts


def own_facts(extension: GuardExtension) -> Counter[tuple[str, str, str, str]]:
    """Every fact each device wrote itself, read back from the SQLite journal."""
    store = extension.chain.store
    assert store is not None
    return Counter(
        (f.id.device, f.role, f.label, f.name)
        for owner in store.owners()
        for f in store.load_facts(owner)
        if f.id.device == owner
    )


def check_run(protocol: Protocol, session: Session, extension: GuardExtension) -> None:
    expected = expected_facts(session)
    annotated = any(
        isinstance(s, Send) and profile_from_annotations(s.annotations).journal_facts
        for lt in protocol.local_types().values()
        for s in lt.iter_steps()
    )
    assert bool(expected) == annotated
    assert own_facts(extension) == expected
    sends = [e for e in session.trace if e.kind == "send"]
    assert len(sends) == sum(
        isinstance(s, Send) for lt in protocol.local_types().values() for s in lt.iter_steps()
    )
    # Receivers of journal_merge messages hold the sender's facts too, under the same ids.
    store = extension.chain.store
    assert store is not None
    for owner in store.owners():
        for fact in store.load_facts(owner):
            assert (fact.id.device, fact.role, fact.label, fact.name) in expected
    # The flow budgets were charged what the annotations say (100 when annotated without flow_cost).
    charged: Counter[tuple[str, str]] = Counter()
    for event in sends:
        for step in session.local_types[event.role].iter_steps():
            if isinstance(step, Send) and (step.to, step.label) == (event.receiver, event.label):
                charged[(event.role, event.receiver)] += profile_from_annotations(step.annotations).flow_cost
                break
    for (role, peer), cost in charged.items():
        budget = extension.chain.device(device(role)).flow.budget(protocol.qualified_name, device(peer))
        assert budget.spent == cost


@pytest.mark.parametrize("name", ANNOTATED_SEEDS)
async def test_seed_runs_in_memory_under_a_policy_file(name: str, tmp_path: Path) -> None:
    protocol = seed(name)
    policy = load_policy(write_policy(tmp_path, protocol, manifests(protocol)))
    session, extension = guarded_session(protocol, policy)
    extension.check_session(session)
    await run_session(session, InMemoryTransport())
    check_run(protocol, session, extension)
    assert extension.chain.metrics.receipts_verified == len([e for e in session.trace if e.kind == "recv"])


@pytest.mark.parametrize("name", ANNOTATED_SEEDS)
def test_seed_runs_in_simulation_over_a_lossy_network(name: str, tmp_path: Path) -> None:
    protocol = seed(name)
    policy = load_policy(write_policy(tmp_path, protocol, manifests(protocol)))
    session, extension = guarded_session(protocol, policy)
    network = NetworkModel(LinkModel(drop=0.2, duplicate=0.2))

    async def main() -> None:
        extension.check_session(session)
        await run_session(session, SimulatedTransport(network, seed=7))

    run_virtual(main())
    check_run(protocol, session, extension)


def drop_cases() -> list[tuple[str, str, str]]:
    return [
        (name, role, capability)
        for name in ANNOTATED_SEEDS
        for role, needed in manifests(seed(name)).items()
        for capability in needed
    ]


@pytest.mark.parametrize(("name", "role", "capability"), drop_cases())
async def test_one_capability_less_refuses_the_session_before_any_message(
    name: str, role: str, capability: str, tmp_path: Path
) -> None:
    protocol = seed(name)
    held = manifests(protocol)
    held[role] = [c for c in held[role] if c != capability]
    session, extension = guarded_session(protocol, load_policy(write_policy(tmp_path, protocol, held)))
    transport = InMemoryTransport()
    with pytest.raises(CapabilityDenied) as denied:
        extension.check_session(session)
        await run_session(session, transport)
    assert (denied.value.role, denied.value.capability) == (role, capability)
    assert denied.value.session == session.id
    assert transport.frames_sent == 0
    assert own_facts(extension) == Counter()


@pytest.mark.parametrize("name", ANNOTATED_SEEDS)
async def test_each_endpoint_checks_its_manifest_when_it_joins(name: str, tmp_path: Path) -> None:
    protocol = seed(name)
    held = manifests(protocol)
    role = next(r for r in reversed(protocol.roles) if held[r])
    held[role] = held[role][1:]
    session, _ = guarded_session(protocol, load_policy(write_policy(tmp_path, protocol, held)))
    with pytest.raises(CapabilityDenied) as denied:
        await run_session(session, InMemoryTransport())
    assert denied.value.role == role
    assert not any(e.role == role for e in session.trace)


@pytest.mark.parametrize("name", ANNOTATED_SEEDS)
def test_validate_json_manifests_agree_with_the_runtime(name: str) -> None:
    path = SEED_CORPUS / f"{name}.choreo"
    result = CliRunner().invoke(cli, ["validate", "--json", str(path)])
    assert result.exit_code == 0, result.output
    reported = json.loads(result.output)["protocols"][0]["manifests"]
    protocol = seed(name)
    assert reported == manifests(protocol)


@pytest.mark.parametrize("name", ["000_AdminOperations", "000_ThresholdCoordination"])
def test_simulate_cli_runs_the_seed_under_its_policy_file(name: str, tmp_path: Path) -> None:
    protocol = seed(name)
    path = str(SEED_CORPUS / f"{name}.choreo")
    exact = write_policy(tmp_path, protocol, manifests(protocol))
    result = CliRunner().invoke(cli, ["simulate", path, "--policy", str(exact), "--runs", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["failed_runs"] == 0

    held = manifests(protocol)
    role = next(r for r in protocol.roles if held[r])
    held[role] = held[role][1:]
    (tmp_path / "short").mkdir()
    short = write_policy(tmp_path / "short", protocol, held)
    result = CliRunner().invoke(cli, ["simulate", path, "--policy", str(short), "--json"])
    assert result.exit_code == 1
    failure = json.loads(result.output)["failures"][0]
    assert (failure["error"], failure["role"]) == ("CapabilityDenied", role)
