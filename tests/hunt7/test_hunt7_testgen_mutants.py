"""A generated suite passed against a protocol edited after `test-gen`, found by hunt7 (fixed in testgen/).

The generated tests load the protocol from its file when they run and check each run's trace against
that same, current protocol. So after an edit that the default behaviours can follow (two messages
swapped, a message added, the first message dropped) every test still passed: the happy path checked
the edited protocol against itself. Only edits that touched a branch's recorded labels or a payload
type were caught. The happy-path test of each role now pins the role's local type as generated, and
fails (saying to rerun `test-gen`) when the protocol no longer projects to it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aura_choreo.docs import load_files
from aura_choreo.testgen import write_suite
from conftest import generated_tests

TPC = (Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo").read_text(
    encoding="utf-8"
)
COMMIT = (
    "Coordinator -> Participant: CommitRequest(transaction_id: u64);\n"
    "            Participant -> Coordinator: CommitAck;"
)
PREPARE = "Coordinator -> Participant: PrepareRequest(transaction_id: u64);"
MUTANTS = {
    "swapped": TPC.replace(COMMIT, "\n".join(reversed(COMMIT.split("\n"))).replace("            C", "C")),
    "added": TPC.replace(PREPARE, PREPARE + "\n    Coordinator -> Participant: Hello;"),
    "dropped": TPC.replace(PREPARE, ""),
    "redirected": TPC.replace(
        "Participant -> Coordinator: CommitAck;",
        "Participant -> Coordinator: CommitAck;\n Coordinator -> Participant: Done;",
    ),
}


def _suite(tmp_path: Path) -> tuple[Path, dict[str, Callable[[], None]]]:
    source = tmp_path / "tpc.choreo"
    source.write_text(TPC, encoding="utf-8")
    loaded = load_files([str(source)])
    assert loaded.ok
    write_suite(loaded.protocols, [str(source)], tmp_path / "suite")
    return source, _happy_paths(tmp_path / "suite" / "test_two_phase_commit.py")


def _happy_paths(path: Path) -> dict[str, Callable[[], None]]:
    tests = generated_tests(path, "hunt7_generated")
    return {k: v for k, v in tests.items() if k.startswith("test_happy_path")}


def test_the_suite_passes_as_generated(tmp_path: Path) -> None:
    _, tests = _suite(tmp_path)
    assert sorted(tests) == ["test_happy_path_coordinator", "test_happy_path_participant"]
    for test in tests.values():
        test()


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_an_edited_protocol_fails_the_happy_path_of_a_role_it_changes(tmp_path: Path, mutant: str) -> None:
    assert MUTANTS[mutant] != TPC
    source, _ = _suite(tmp_path)
    source.write_text(MUTANTS[mutant], encoding="utf-8")
    tests = _happy_paths(tmp_path / "suite" / "test_two_phase_commit.py")  # loads the edited file
    failures = []
    for test in tests.values():
        try:
            test()
        except AssertionError as error:
            failures.append(str(error))
    assert failures, f"{mutant}: every generated happy path passed against the edited protocol"
    assert all("rerun" in f and "test-gen" in f for f in failures)
