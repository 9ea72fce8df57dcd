"""A policy whose journal cannot be opened: `JournalError` naming the file where the journal is
opened, a usage error (exit 2) naming policy and journal in `simulate` and `run` (no sockets needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aura_choreo.cli.main import main
from aura_choreo.errors import JournalError
from aura_choreo.journal import JournalStore

TPC = str(Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo")
BAD = {"a-directory": ("", "it is a directory"), "a-text-file": ("plain", "file is not a database")}
BAD["below-a-file"] = ("plain/j.db", "a folder on its path is a file")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "plain").write_text("not a database\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("journal", "reason"), BAD.values(), ids=BAD.keys())
def test_a_journal_store_that_cannot_open_names_the_file(folder: Path, journal: str, reason: str) -> None:
    path = folder / journal
    with pytest.raises(JournalError) as raised:
        JournalStore(path)
    assert str(raised.value) == f"journal `{path}`: cannot open: {reason}"


def _policy(folder: Path, journal: str, devices: str = "") -> Path:
    policy = folder / "policy.toml"
    text = f'journal = "{journal}"\n[roles]\nCoordinator = "coord"\nParticipant = "part"\n{devices}'
    policy.write_text(text, encoding="utf-8")
    return policy


@pytest.mark.parametrize(("journal", "reason"), BAD.values(), ids=BAD.keys())
def test_simulate_with_an_unusable_journal_is_a_usage_error(
    folder: Path, journal: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _policy(folder, str(folder / journal))
    with pytest.raises(SystemExit) as ended:
        main(["simulate", TPC, "--policy", str(policy), "--json"])
    captured = capsys.readouterr()
    assert ended.value.code == 2
    error = json.loads(captured.out)["error"]
    assert error == f"{policy}: journal `{folder / journal}`: cannot open: {reason}"


@pytest.mark.parametrize(("journal", "reason"), BAD.values(), ids=BAD.keys())
def test_run_with_an_unusable_journal_is_a_usage_error(
    folder: Path, journal: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = {}
    for device in ("coord", "part"):
        with pytest.raises(SystemExit):
            main(["keygen", device, "-o", str(folder / "keys"), "--quiet"])
        keys[device] = capsys.readouterr().out.strip()
    devices = "".join(
        f'[devices.{d}]\npublic_key = "{keys[d]}"\naddress = "tcp://127.0.0.1:{port}"\n'
        for d, port in (("coord", 1), ("part", 2))
    )
    policy = _policy(folder, str(folder / journal), devices)
    key = str(folder / "keys" / "coord.key")
    with pytest.raises(SystemExit) as ended:
        main(["run", TPC, "--role", "Coordinator", "--policy", str(policy), "--key", key, "--json"])
    captured = capsys.readouterr()
    assert "internal error" not in captured.err, captured.err
    assert ended.value.code == 2
    message = f"{policy}: journal `{folder / journal}`: cannot open: {reason}"
    error = json.loads(captured.out)["error"]  # the §5.6 error object, as every `run --json` failure
    assert error["error"] == "JournalError" and error["message"] == message
    assert f"error: {message}" in captured.err
