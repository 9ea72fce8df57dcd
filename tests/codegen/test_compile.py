"""Every well-formed seed and example (and literature protocol that loads) compiles; the output passes
`mypy --strict` and `ruff check`; mypy holds user code to the protocol (each wrong program is rejected
on its offending line)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from codegen_fixtures import (
    EXAMPLES,
    POLL,
    PROGRAMS,
    TPC,
    Generated,
    generate_everything,
    literature_files,
    seed_files,
)

import aura_choreo
from aura_choreo import deployment

MARK = "# mypy: error"
WRONG = sorted(p.name for p in PROGRAMS.glob("*.py") if not p.stem.endswith("_ok"))
RIGHT = sorted(p.name for p in PROGRAMS.glob("*.py") if p.stem.endswith("_ok"))


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """Every seed, example and test protocol compiled, and `mypy --strict` run once over all of it."""
    return generate_everything(tmp_path_factory)


def mypy_errors(generated: Generated) -> dict[str, set[int]]:
    """File (relative to the generated tree's base) -> lines with an error."""
    errors: dict[str, set[int]] = {}
    for line in generated.mypy_report.splitlines():
        match = re.match(r"^(?P<file>[^:]+\.py):(?P<line>\d+): error:", line)
        if match is None:
            continue
        path = Path(match["file"]).resolve()
        key = path.relative_to(generated.gen.parent).as_posix()
        errors.setdefault(key, set()).add(int(match["line"]))
    return errors


def test_every_well_formed_seed_and_example_compiles(generated: Generated) -> None:
    seeds = [p.name for p in seed_files()]
    assert len(seeds) > 30
    literature = {p.name for p in literature_files()}
    for name, why in generated.not_projectable.items():
        if name in literature:
            continue  # whether they load is the parser's and checker's business; those that load compile
        # Only seeds that call sub-protocols they never define fail to load (see test_seed_outcomes).
        assert name in seeds and why.startswith("E020"), (name, why)
        assert all(part.startswith("E020") for part in why.split("; ")), why
    compiled_literature = literature & set(generated.compiled)
    assert len(compiled_literature) >= 10
    assert len(generated.compiled) - len(compiled_literature) == (
        len(seeds) - len(set(generated.not_projectable) - literature) + len(EXAMPLES) + 1
    )
    for path in [*EXAMPLES, POLL]:
        assert generated.compiled[path.name]


def test_generated_packages_and_correct_programs_pass_mypy_strict(generated: Generated) -> None:
    errors = mypy_errors(generated)
    outside = {f: lines for f, lines in errors.items() if not f.startswith("typing/") or f[7:] not in WRONG}
    assert not outside, generated.mypy_report


@pytest.mark.parametrize("program", WRONG)
def test_wrong_program_is_rejected_on_the_offending_line(generated: Generated, program: str) -> None:
    text = (PROGRAMS / program).read_text(encoding="utf-8")
    marked = {i for i, line in enumerate(text.splitlines(), 1) if line.rstrip().endswith(MARK)}
    assert marked, f"{program} marks no line with `{MARK}`"
    assert mypy_errors(generated).get(f"typing/{program}", set()) == marked, generated.mypy_report


def test_mypy_names_the_missing_method_and_the_unhandled_branch(generated: Generated) -> None:
    report = generated.mypy_report
    assert 'tpc_send_before_receive.py:12: error: "S0" has no attribute "send_PrepareResponse"' in report
    assert 'has no attribute "send_PrepareRequst"; maybe "send_PrepareRequest"?' in report
    assert 'incompatible type "S2_Rejected"; expected "Never"' in report
    assert '"End" has no attribute "send_AbortAck"' in report
    assert 'has incompatible type "str"; expected "int"' in report


def test_generated_code_passes_ruff(generated: Generated) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--line-length", "110",
         "--select", "E,F,W,I,B,UP,RUF", str(generated.gen)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_state_class_says_where_it_is_in_the_protocol(generated: Generated) -> None:
    module = generated.typing / "two_phase_commit" / "coordinator.py"
    text = module.read_text(encoding="utf-8")
    assert (
        '"""Send PrepareRequest(transaction_id: u64) to Participant (two_phase_commit.choreo:6)."""' in text
    )
    assert '"""Receive PrepareResponse(vote: Vote) from Participant (two_phase_commit.choreo:7)."""' in text
    head = text.split('"""')[1]
    assert "examples/two_phase_commit.choreo" in head
    protocol_hash = deployment.protocol_hash(aura_choreo.load(TPC))  # what `run` binds the handshake to
    assert f"protocol hash (sha256): {protocol_hash}" in head


def test_right_programs_exist() -> None:
    assert RIGHT == ["poll_ok.py", "tpc_ok.py"]
