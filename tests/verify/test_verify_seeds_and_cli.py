"""Every well-formed seed verifies; `validate` reports verification results (SPEC §7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli
from aura_choreo.errors import ChoreographyError
from aura_choreo.protocol import load_all
from aura_choreo.verify import verify_protocol
from conftest import seed_files


def _protocols(path: Path):  # type: ignore[no-untyped-def]
    try:
        return load_all(path)
    except ChoreographyError:
        return {}  # not well-formed: other stages report it


@pytest.mark.parametrize("path", seed_files(), ids=lambda p: p.stem)
def test_every_well_formed_seed_is_deadlock_free_with_and_without_por(path: Path) -> None:
    for protocol in _protocols(path).values():
        local_types = protocol.local_types()
        reduced = verify_protocol(local_types)
        full = verify_protocol(local_types, por=False)
        assert reduced.deadlock_free and full.deadlock_free, [f.message for f in full.findings]
        assert reduced.states <= full.states
        assert not [f for f in full.findings if f.is_error]


def test_at_least_most_seeds_are_verified() -> None:
    verified = sum(len(_protocols(p)) for p in seed_files())
    assert verified >= 30


def _validate(*args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(cli, ["validate", "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def test_validate_json_has_deadlock_freedom_states_budgets_and_manifests() -> None:
    seed = next(p for p in seed_files() if p.name == "001_BudgetedProtocol.choreo")
    code, report = _validate(str(seed))
    assert code == 0 and report["ok"] is True
    (protocol,) = report["protocols"]  # type: ignore[misc]
    assert protocol["deadlock_free"] is True and protocol["states"] > 1
    assert protocol["budgets"]["Sender"]["peers"]["Receiver"]["flow_cost"] == 300
    assert protocol["manifests"] == {"Sender": ["send_data"], "Receiver": []}
    assert protocol["verification"]["bound"] == 4 and protocol["verification"]["complete"] is True


def test_validate_json_reports_the_search_rate_and_peak_memory() -> None:
    seed = next(p for p in seed_files() if p.name == "001_BudgetedProtocol.choreo")
    _, report = _validate(str(seed))
    (protocol,) = report["protocols"]  # type: ignore[misc]
    verification = protocol["verification"]
    assert isinstance(verification["states_per_second"], int) and verification["states_per_second"] > 0
    assert isinstance(verification["peak_rss_bytes"], int) and verification["peak_rss_bytes"] > 1 << 20


def test_exploring_leaves_the_garbage_collector_as_it_found_it() -> None:
    import gc

    seed = next(p for p in seed_files() if p.name == "001_BudgetedProtocol.choreo")
    local_types = next(iter(_protocols(seed).values())).local_types()
    assert gc.isenabled()
    verify_protocol(local_types)
    assert gc.isenabled()
    gc.disable()
    try:
        verify_protocol(local_types)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_validate_flow_limit_fails_with_e104(tmp_path: Path) -> None:
    seed = next(p for p in seed_files() if p.name == "001_BudgetedProtocol.choreo")
    code, report = _validate(str(seed), "--flow-limit", "250")
    assert code == 1 and report["ok"] is False
    codes = [d["code"] for d in report["diagnostics"]]  # type: ignore[index]
    assert codes == ["E104"]


def test_validate_policy_checks_capabilities(tmp_path: Path) -> None:
    seed = next(p for p in seed_files() if p.name == "001_BudgetedProtocol.choreo")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"devices": {"Sender": {"capabilities": ["other"]}}}), encoding="utf-8")
    code, report = _validate(str(seed), "--policy", str(policy))
    assert code == 1
    messages = [d["message"] for d in report["diagnostics"]]  # type: ignore[index]
    assert any("`send_data`" in m for m in messages)


def test_validate_bad_policy_is_a_usage_error(tmp_path: Path) -> None:
    seed = seed_files()[0]
    policy = tmp_path / "policy.json"
    policy.write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(seed), "--policy", str(policy)])
    assert result.exit_code == 2 and "invalid JSON" in result.output


def test_validate_without_por_reports_more_states() -> None:
    seed = next(p for p in seed_files() if p.name == "003_DistributedConsensus.choreo")
    _, reduced = _validate(str(seed))
    _, full = _validate(str(seed), "--no-por")
    assert reduced["protocols"][0]["states"] < full["protocols"][0]["states"]  # type: ignore[index]
    assert full["protocols"][0]["deadlock_free"] is True  # type: ignore[index]


RELAY = """protocol TimeoutRelay {
  roles: S, C, D;
  S -> C: Start;
  timeout(5s) { S -> C: Resp; C -> D: Fwd; } or { C -> D: Giveup; }
}
"""


def test_validate_reports_a_timeout_race_as_a_deadlock_with_its_run(tmp_path: Path) -> None:
    # D may time out although C finished the body: D then waits for `Giveup`, which never comes.
    path = tmp_path / "relay.choreo"
    path.write_text(RELAY, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert "error[E100]: TimeoutRelay: deadlock: D waits for C?Giveup" in result.output
    assert "D takes timeout 5000ms" in result.output and "D discards late Fwd from C" in result.output
    code, report = _validate(str(path), "--bound", "2")
    assert code == 1
    protocol = report["protocols"][0]  # type: ignore[index]
    assert protocol["deadlock_free"] is False and protocol["verification"]["bound"] == 2
    (finding,) = protocol["verification"]["findings"]
    assert finding["code"] == "E100" and finding["sequence_diagram"].startswith("sequenceDiagram")


DEADLOCKING_SAME_NAME = RELAY.replace("TimeoutRelay", "Same")

FINE_SAME_NAME = """protocol Same {
  roles: S, C, D;
  S -> C: Start;
  C -> D: Fwd;
}
"""


@pytest.mark.parametrize("bad_first", [True, False])
def test_validate_keeps_verdicts_apart_for_same_named_protocols_in_two_files(
    tmp_path: Path, bad_first: bool
) -> None:
    # Issue #11 item 2: projections were stored by protocol name only, so the last file's verdict
    # was reported for both and a deadlocking file could be reported ok.
    bad, fine = tmp_path / "bad.choreo", tmp_path / "fine.choreo"
    bad.write_text(DEADLOCKING_SAME_NAME, encoding="utf-8")
    fine.write_text(FINE_SAME_NAME, encoding="utf-8")
    order = [bad, fine] if bad_first else [fine, bad]
    code, report = _validate(*map(str, order))
    assert code == 1 and report["ok"] is False
    verdicts = {Path(p["file"]).name: p["deadlock_free"] for p in report["protocols"]}  # type: ignore[union-attr,index]
    assert verdicts == {"bad.choreo": False, "fine.choreo": True}
    e100 = [d for d in report["diagnostics"] if d["code"] == "E100"]  # type: ignore[index]
    assert [Path(d["file"]).name for d in e100] == ["bad.choreo"]


def test_large_families_validate_instead_of_being_refused(tmp_path: Path) -> None:
    # A fan-in over 30 and a majority quorum over 100 were E109 (or hung) before issue 19.
    source = tmp_path / "families.choreo"
    source.write_text(
        "protocol Star { roles: Leader, W[30]; Leader -> W[*]: Task; W[*] -> Leader: Result;"
        " Leader -> W[*]: Done; }\n"
        "protocol Majority { roles: L, V[100]; L -> V[*]: Ask;"
        " [@min_responses = 51] V[*] -> L: Vote; L -> V[*]: Done; }\n"
    )
    code, report = _validate(str(source))
    assert code == 0 and report["ok"] is True, report["diagnostics"]
    protocols = {p["name"]: p for p in report["protocols"]}  # type: ignore[union-attr]
    assert protocols["Star"]["deadlock_free"] and protocols["Majority"]["deadlock_free"]
    assert protocols["Majority"]["verification"]["complete"] is True


@pytest.mark.parametrize(
    "body",
    [
        "[@min_responses = 6] V[*] -> L: Vote; L -> V[*]: Done;",
        "[@min_responses = 6] V[*] -> L: Vote; V[*] -> L: Again;",
        "[@min_responses = 10] V[*] -> L: Vote; L -> V[*]: Done;",
        "V[*] -> L: Vote; V[0] -> L: Extra;",
        "[@min_responses = 3] V[*] -> L: Vote; [@min_responses = 9] V[*] -> L: Vote;",
    ],
)
def test_family_collectors_agree_with_the_explicit_machines(body: str) -> None:
    from aura_choreo.protocol import choreography
    from aura_choreo.verify import compile_machine, verify_machines

    local_types = choreography(f"protocol P {{ roles: L, V[10]; L -> V[*]: Ask; {body} }}").local_types()
    verdicts = []
    for collect_from in (0, 8):
        machines = {r: compile_machine(lt, collect_from=collect_from) for r, lt in local_types.items()}
        assert bool(machines["L"].collectors) == bool(collect_from)
        result, findings = verify_machines(machines)
        verdicts.append((result.complete, sorted({f.kind.value for f in findings if f.is_error})))
    assert verdicts[0] == verdicts[1]
