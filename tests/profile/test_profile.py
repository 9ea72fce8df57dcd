"""`profile`: worst-case counts, growth fitted to a complexity class, the size model, the command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aura_choreo import ChoreographyError, choreography, load
from aura_choreo.docs import load_files
from aura_choreo.profile import fit_complexity, payload_bytes, profile_protocol, type_bytes
from aura_choreo.syntax.ast import TypeRef
from conftest import SEED_CORPUS

ROOT = Path(__file__).resolve().parents[2]
TPC = ROOT / "examples" / "two_phase_commit.choreo"
SEEDS = SEED_CORPUS

GATHER = """choreography Gather {
    roles: Leader, Workers[N];
    Leader -> Workers[*]: Task(id: u64);
    Workers[*] -> Leader: Result(value: i32);
}"""
ALL_TO_ALL = """choreography AllToAll {
    roles: P[N];
    for i in 0..N { P[i] ->* : Share(x: u32); }
}"""
HUB_RING = """choreography HubRing {
    roles: Hub, Node[N];
    for i in 0..N { Hub -> Node[i]: Token; Node[i] -> Hub: Back; }
}"""
RING = """choreography Ring {
    roles: Node[N];
    for i in 0..N-1 { Node[i] -> Node[i+1]: Token; }
}"""


def _profile(text: str, **kwargs: object) -> dict[str, object]:
    return profile_protocol(choreography(text), guard=False, **kwargs).to_json()  # type: ignore[arg-type]


def test_broadcast_and_fan_in_are_linear_in_messages_and_constant_in_rounds() -> None:
    report = _profile(GATHER)
    assert report["complexity"] == {"messages": "O(n)", "rounds": "O(1)", "bytes": "O(n)"}
    assert [p["messages"] for p in report["scaling"]] == [4, 8, 16, 32]  # type: ignore[attr-defined, index]
    assert report["messages"] == 6 and report["rounds"] == 2


def test_all_to_all_is_quadratic_in_messages() -> None:
    report = _profile(ALL_TO_ALL)
    assert report["complexity"]["messages"] == "O(n^2)"  # type: ignore[index]
    assert report["messages"] == 3 * 2


def test_a_token_passed_round_a_group_takes_linear_rounds() -> None:
    report = _profile(HUB_RING)
    assert report["complexity"]["rounds"] == "O(n)"  # type: ignore[index]
    assert report["rounds"] == 2 * 3


def test_a_ring_takes_linear_rounds() -> None:
    try:
        protocol = choreography(RING)
    except ChoreographyError as exc:
        if "E001" in str(exc):
            pytest.skip("index arithmetic `Node[i+1]` is not parsed yet (SPEC §1.3; correct-verify's #11)")
        raise
    report = profile_protocol(protocol, guard=False).to_json()
    assert report["complexity"]["rounds"] == "O(n)"  # type: ignore[index]
    assert report["rounds"] == 2  # N = 3: two hops


def test_a_counted_loop_multiplies_its_body_by_its_count() -> None:
    once = _profile("choreography Once { roles: A, B; A -> B: Ping(n: u32); B -> A: Pong; }")
    five = _profile(
        "choreography Five { roles: A, B; loop (count: 5) { A -> B: Ping(n: u32); B -> A: Pong; } }"
    )
    assert five["messages"] == 5 * once["messages"]  # type: ignore[operator]
    assert five["bytes"] == 5 * once["bytes"]  # type: ignore[operator]
    assert five["rounds"] == 5 * once["rounds"]  # type: ignore[operator]
    assert five["per_role"]["A"]["sent"] == 5  # type: ignore[index]


def test_a_loop_counted_by_a_parameter_grows_with_it() -> None:
    report = _profile("choreography Rounds { roles: A, B; loop (count: k) { A -> B: Ping; } }")
    assert report["complexity"]["messages"] == "O(n)"  # type: ignore[index]
    assert report["per_parameter"]["k"]["messages"] == "O(n)"  # type: ignore[index]


def test_a_choice_counts_its_worst_branch_and_a_decided_loop_is_flagged() -> None:
    report = _profile(
        "choreography C { roles: A, B; choice A {"
        " short: { A -> B: X; } long: { A -> B: Y; B -> A: Z; A -> B: W; } } }"
    )
    assert report["messages"] == 3 and report["unbounded"] == []
    looping = _profile("choreography L { roles: A, B; loop (decides: A) { A -> B: X; } }")
    assert looping["unbounded"] and "decided loop" in looping["unbounded"][0]  # type: ignore[index]


def test_payload_size_model() -> None:
    assert type_bytes(TypeRef("u64")) == 9
    assert type_bytes(TypeRef("Vec", (TypeRef("u8"),))) == type_bytes(TypeRef("bytes"))
    assert type_bytes(TypeRef("Option", (TypeRef("u32"),))) == type_bytes(TypeRef("u32"))
    assert type_bytes(TypeRef("Vec", (TypeRef("u32"),))) == 3 + 4 * 5
    protocol = load(TPC)
    prepare = next(
        m for m in protocol.local_type("Coordinator").steps if getattr(m, "label", "") == "PrepareRequest"
    )
    assert payload_bytes(prepare.payload) == 9 + len("transaction_id") + 1  # type: ignore[attr-defined]


def test_fit_prefers_the_slowest_class_that_fits_exactly() -> None:
    sizes = [2, 4, 8, 16]
    assert fit_complexity(sizes, [5, 5, 5, 5]) == "O(1)"
    assert fit_complexity(sizes, [3 * n + 1 for n in sizes]) == "O(n)"
    assert fit_complexity(sizes, [n * n + n for n in sizes]) == "O(n^2)"
    assert fit_complexity([2, 4], [1, 2]) == "unknown"


def test_guard_chain_cost_is_measured_per_send_in_a_simulated_run() -> None:
    report = profile_protocol(load(TPC)).to_json()
    guard = report["guard_chain"]
    assert isinstance(guard, dict) and guard["ok"] is True
    assert guard["sends"] == report["messages"] == 4
    assert set(guard["stages_microseconds"]) == {"capability", "flow", "leakage", "journal", "receipt"}


def _seed_protocols() -> list[Path]:
    return [f for f in sorted(SEEDS.glob("*.choreo")) if load_files([str(f)]).ok]


def test_every_well_formed_seed_profiles() -> None:
    files = _seed_protocols()
    assert files
    for path in files:
        for protocol in load_files([str(path)]).protocols:
            report = profile_protocol(protocol, guard=False).to_json()
            for key in ("name", "messages", "rounds", "bytes", "per_role", "scaling", "complexity"):
                assert key in report, (path, key)
            assert set(report["per_role"]) == set(protocol.roles)  # type: ignore[arg-type]
            assert report["messages"] == sum(r["sent"] for r in report["per_role"].values())  # type: ignore[attr-defined]


def _aura(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aura_choreo", *args], capture_output=True, text=True, timeout=120
    )


def test_profile_command_json_contract_and_usage_errors(tmp_path: Path) -> None:
    path = tmp_path / "gather.choreo"
    path.write_text(GATHER, encoding="utf-8")
    result = _aura("profile", str(path), "--json", "--sizes", "N=3,5,7", "--no-guard")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    (p,) = data["protocols"]
    assert p["name"] == "Gather" and p["complexity"]["messages"] == "O(n)"
    assert [s["params"] for s in p["scaling"]] == [{"N": 3}, {"N": 5}, {"N": 7}]
    assert p["per_role"]["Leader"] == {"sent": 3, "received": 3, "bytes": 36, "bytes_received": 33}
    text = _aura("profile", str(path), "--no-guard")
    assert text.returncode == 0 and "O(n)" in text.stdout and "Leader" in text.stdout
    assert _aura("profile", str(path), "--sizes", "N=a,b").returncode == 2
    unknown = _aura("profile", str(path), "--sizes", "M=2,3,4")
    assert unknown.returncode == 2 and "unknown parameter `M`" in unknown.stderr
    assert _aura("profile", str(tmp_path / "none.choreo")).returncode == 2
