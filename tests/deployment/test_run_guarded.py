"""The annotated seeds under a policy, one process per role: receipts verified across processes, each
device's own SQLite journal holding exactly the facts of the path taken; capability refusals."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from deploy_cluster import assert_all_ok, check_merged_trace, device_of, make_cluster

from aura_choreo.guards import profile_from_annotations
from aura_choreo.journal import JournalStore
from aura_choreo.projection.local_types import Send
from aura_choreo.protocol import Protocol, load
from aura_choreo.verify import role_manifest
from conftest import SEED_CORPUS

# Two seeds run by default (a process per role is slow on a shared 2-core CI); `-m slow` runs all 7.
ANNOTATED_SEEDS = [
    "000_AdminOperations",
    pytest.param("000_PrivateMessaging", marks=pytest.mark.slow),
    pytest.param("000_ThresholdCoordination", marks=pytest.mark.slow),
    pytest.param("000_RingConsensus", marks=pytest.mark.slow),
    pytest.param("000_HierarchicalConsensus", marks=pytest.mark.slow),
    pytest.param("001_ComprehensiveProtocol", marks=pytest.mark.slow),
    "001_BudgetedProtocol",
]


def manifests(protocol: Protocol) -> dict[str, list[str]]:
    return {role: sorted(role_manifest(lt)) for role, lt in protocol.local_types().items()}


def facts_of_path(protocol: Protocol, trace: list[dict[str, object]]) -> Counter[tuple[str, str, str, str]]:
    """(device, role, label, fact) for every `journal_facts` name of every send a role made."""
    facts: Counter[tuple[str, str, str, str]] = Counter()
    for event in trace:
        if event["kind"] != "send":
            continue
        role = str(event["role"])
        for step in protocol.local_type(role).iter_steps():
            if isinstance(step, Send) and (step.to, step.label) == (event["to"], event["label"]):
                for name in profile_from_annotations(step.annotations).journal_facts:
                    facts[(device_of(role), role, str(event["label"]), name)] += 1
                break
    return facts


@pytest.mark.parametrize("name", ANNOTATED_SEEDS)
def test_annotated_seed_runs_guarded_across_processes(name: str, tmp_path: Path) -> None:
    file = SEED_CORPUS / f"{name}.choreo"
    protocol = load(file)
    header = [f'journal = "{tmp_path}/{{device}}.db"', 'synchronous = "NORMAL"', "signing = true"]
    cluster = make_cluster(tmp_path, protocol.roles, capabilities=manifests(protocol), header=header)
    results = cluster.run(file)
    assert_all_ok(results)
    check_merged_trace(file, results, tmp_path)
    trace = [e for r in results.values() for e in r.document["trace"]]  # type: ignore[attr-defined]
    expected = facts_of_path(protocol, trace)
    received = Counter(str(e["role"]) for e in trace if e["kind"] == "recv")
    for role, result in results.items():
        guards = result.document["guards"]
        assert guards["receipts_verified"] == received[role]  # type: ignore[index]
        assert guards["receipts_rejected"] == 0  # type: ignore[index]
        store = JournalStore(str(tmp_path / f"{device_of(role)}.db"))
        own = Counter(
            (f.id.device, f.role, f.label, f.name)
            for owner in store.owners()
            for f in store.load_facts(owner)
            if f.id.device == device_of(role)
        )
        assert own == Counter({k: n for k, n in expected.items() if k[0] == device_of(role)})
        for owner in store.owners():  # merged facts of others: only facts of this path
            for fact in store.load_facts(owner):
                assert (fact.id.device, fact.role, fact.label, fact.name) in expected


def test_a_device_missing_a_capability_is_refused_and_nobody_sends(tmp_path: Path) -> None:
    file = SEED_CORPUS / "000_AdminOperations.choreo"
    protocol = load(file)
    held = manifests(protocol)
    role = next(r for r in protocol.roles if held[r])
    capability = held[role].pop()
    cluster = make_cluster(tmp_path, protocol.roles, capabilities=held)
    short = {r: ["--connect-timeout", "3", "--timeout", "3"] for r in protocol.roles}
    results = cluster.run(file, extra=short)
    refused = results[role].document
    assert results[role].code == 1
    assert refused["error"]["error"] == "CapabilityDenied"  # type: ignore[index]
    assert capability in refused["error"]["message"] and role in refused["error"]["message"]  # type: ignore[index]
    for other, result in results.items():
        assert result.code == 1, result.stderr
        assert not any(e["kind"] == "send" for e in result.document["trace"]), other  # type: ignore[attr-defined]
        assert "Traceback" not in result.stderr
