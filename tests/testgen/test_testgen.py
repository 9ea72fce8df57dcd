"""`test-gen`: generated suites pass as generated, cover branches, guards (capability, flow, leakage),
timeouts and sagas, and fail (naming the branch or message) when a behaviour is broken;
`behaviours.py` is never overwritten.

Every generated suite is run by one pytest subprocess (module fixture), which keeps this fast.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aura_choreo import choreography, load
from aura_choreo.docs import load_files
from aura_choreo.testgen import plan_protocol, write_suite
from conftest import SEED_CORPUS

ROOT = Path(__file__).resolve().parents[2]
TPC = ROOT / "examples" / "two_phase_commit.choreo"
ADMIN = ROOT / "examples" / "admin_operations.choreo"
SEEDS = SEED_CORPUS

BLOCKS = """choreography Blocks {
    roles: Client, Server, Log;
    Client -> Server: Hello(name: String);
    choice Server {
        accept: { Server -> Client: Welcome(code: u32); }
        reject: { Server -> Client: Goodbye; }
    }
    timeout(2s) {
        Server -> Client: Late(n: u64);
    } or {
        Client: GiveUp();
    }
    try {
        Server -> Log: Write(entry: String);
        Log -> Server: Written;
    } compensate {
        Server -> Log: Undo;
    }
}
"""


def _aura(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aura_choreo", *args], capture_output=True, text=True, timeout=300
    )


def _generate(source: Path, out: Path) -> None:
    loaded = load_files([str(source)])
    assert loaded.ok, [str(d) for d in loaded.diagnostics if d.is_error]
    write_suite(loaded.protocols, [str(source)] * len(loaded.protocols), out)


def _seeds() -> list[Path]:
    return [f for f in sorted(SEEDS.glob("*.choreo")) if load_files([str(f)]).ok]


@pytest.fixture(scope="module")
def suites(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Every seed's suite, suites with guards/timeout/saga, and two suites with a broken behaviour."""
    root = tmp_path_factory.mktemp("suites")
    for seed in _seeds():
        _generate(seed, root / "seeds" / seed.stem)
    blocks = root / "blocks.choreo"
    blocks.write_text(BLOCKS, encoding="utf-8")
    _generate(blocks, root / "blocks")
    _generate(ADMIN, root / "admin")
    _generate(TPC, root / "missing")
    behaviours = root / "missing" / "behaviours.py"
    text = behaviours.read_text(encoding="utf-8")
    start = text.index("    def AbortRequest")  # the support of the `Abort` branch
    behaviours.write_text(text[:start] + text[text.index("\n\n", start) + 2 :], encoding="utf-8")
    _generate(TPC, root / "wrong")
    wrong = root / "wrong" / "behaviours.py"
    text = wrong.read_text(encoding="utf-8")
    start = text.index("    def PrepareRequest")
    end = text.index("\n\n", start)
    body = text[start:end]
    wrong.write_text(
        text[:start] + body[: body.index("return ")] + "return {'transaction_id': 'five'}" + text[end:]
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rf",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "--import-mode=importlib",
            "--timeout",
            "60",
            str(root),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    return root, result.stdout


def _failures(output: str, folder: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("FAILED") and f"/{folder}/" in line]


def test_every_well_formed_seed_gets_a_suite_that_passes_as_generated(suites: tuple[Path, str]) -> None:
    root, output = suites
    assert len(list((root / "seeds").iterdir())) == len(_seeds()) > 0
    assert _failures(output, "seeds") == [], output[-3000:]
    assert " passed" in output


def test_guard_denials_timeouts_and_saga_compensation_are_generated_and_pass(
    suites: tuple[Path, str],
) -> None:
    root, output = suites
    names = (root / "blocks" / "test_blocks.py").read_text(encoding="utf-8")
    for test in (
        "test_branch_",
        "test_timeout_branch_late",
        "test_saga_compensates_when_write_fails",
        "test_faulty_network_drop_duplicate_reorder_delay_is_masked",
    ):
        assert test in names, test
    admin = (root / "admin" / "test_examples_admin_operations.py").read_text(encoding="utf-8")
    assert "test_guard_denies_admin_admin_access" in admin and "test_guard_denies_admin_flow_budget" in admin
    private = next((root / "seeds").rglob("test_private_messaging*.py")).read_text(encoding="utf-8")
    for role in ("sender", "relay"):
        assert f"test_guard_denies_{role}_leakage_budget" in private, role
    assert _failures(output, "blocks") == [] and _failures(output, "admin") == [], output[-3000:]


def test_deleting_a_branchs_behaviour_fails_that_branchs_test_naming_it(suites: tuple[Path, str]) -> None:
    _, output = suites
    failed = _failures(output, "missing")
    assert any("test_branch_vote_abort" in line for line in failed), output[-3000:]
    assert not any("test_branch_vote_commit" in line for line in failed)
    assert "branch `Abort` of match `vote`" in output and "no method `AbortRequest`" in output


def test_a_payload_of_the_wrong_type_fails_naming_the_message(suites: tuple[Path, str]) -> None:
    _, output = suites
    failed = _failures(output, "wrong")
    assert any("test_happy_path_coordinator" in line for line in failed), output[-3000:]
    assert "expected PrepareRequest(transaction_id: u64), got PrepareRequest(transaction_id: str)" in output


def test_the_plan_covers_every_branch_label_of_every_choice() -> None:
    assert sorted(b["label"] for b in plan_protocol(load(TPC)).branches) == ["Abort", "Commit"]
    blocks = plan_protocol(choreography(BLOCKS, filename="blocks.choreo"))
    assert {b["label"] for b in blocks.branches} == {"accept", "reject"}
    assert len(blocks.timeouts) == 1 and len(blocks.sagas) == 1


def test_rerunning_test_gen_keeps_the_users_behaviours(tmp_path: Path) -> None:
    out = tmp_path / "tpc"
    assert _aura("test-gen", str(TPC), "-o", str(out), "--quiet").returncode == 0
    behaviours = out / "behaviours.py"
    edited = behaviours.read_text(encoding="utf-8") + "\n# my edit\n"
    behaviours.write_text(edited, encoding="utf-8")
    (out / "test_two_phase_commit.py").write_text("stale\n", encoding="utf-8")
    result = _aura("test-gen", str(TPC), "-o", str(out))
    assert result.returncode == 0 and "kept" in result.stdout
    assert behaviours.read_text(encoding="utf-8") == edited
    assert (out / "test_two_phase_commit.py").read_text(encoding="utf-8").startswith('"""Generated by')


def test_test_gen_usage_errors(tmp_path: Path) -> None:
    assert _aura("test-gen", str(tmp_path / "none.choreo"), "-o", str(tmp_path / "x")).returncode == 2
    broken = tmp_path / "broken.choreo"
    broken.write_text("choreography B { roles: A, B; A -> C: M; }\n", encoding="utf-8")
    result = _aura("test-gen", str(broken), "-o", str(tmp_path / "y"))
    assert result.returncode == 1 and "E010" in result.stderr and not (tmp_path / "y").exists()
