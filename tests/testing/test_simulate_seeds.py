"""Every well-formed seed choreography passes `aura-choreo simulate --runs 20`, also on a lossy network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli
from conftest import seed_files

# These seeds call sub-protocols that are not defined in their file: they fail validation with E020.
UNDEFINED_SUBPROTOCOLS = {"003_AdaptiveSync", "003_HierarchicalConsensus", "003_SecureDataTransfer"}
WELL_FORMED = [p for p in seed_files() if p.stem not in UNDEFINED_SUBPROTOCOLS]


def simulate(path: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    result = CliRunner().invoke(cli, ["simulate", str(path), "--runs", "20", "--seed", "1", "--json", *extra])
    document = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, document, result.stderr


def test_the_corpus_is_where_we_expect_it() -> None:
    assert len(seed_files()) == 36
    assert {p.stem for p in seed_files()} >= UNDEFINED_SUBPROTOCOLS


@pytest.mark.parametrize("path", WELL_FORMED, ids=lambda p: p.stem)
def test_seed_passes_20_simulated_runs(path: Path) -> None:
    code, document, stderr = simulate(path)
    assert code == 0, document.get("failures") or stderr
    assert document["ok"] is True and document["failed_runs"] == 0
    assert document["runs"] == 20 * len(document.get("protocols", [None]))  # type: ignore[arg-type]
    assert document["trace"], "the first run delivered messages"


@pytest.mark.parametrize("path", WELL_FORMED, ids=lambda p: p.stem)
def test_seed_passes_20_runs_on_a_lossy_reordering_network(path: Path) -> None:
    code, document, stderr = simulate(path, "--drop", "0.2", "--dup", "0.2", "--delay", "1..30", "--reorder")
    assert code == 0, document.get("failures") or stderr


@pytest.mark.parametrize("stem", sorted(UNDEFINED_SUBPROTOCOLS))
def test_seeds_calling_undefined_subprotocols_fail_validation_with_e020(stem: str) -> None:
    path = next(p for p in seed_files() if p.stem == stem)
    code, document, stderr = simulate(path)
    assert code == 1
    assert "error[E020]" in stderr
    assert document["ok"] is False  # --json answers in JSON even when the load fails
    assert {d["code"] for d in document["diagnostics"]} == {"E020"}  # type: ignore[attr-defined]
