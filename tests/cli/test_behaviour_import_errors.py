"""A behaviours module that ends the import with a `BaseException` (`SystemExit(3)`, a custom
`BaseException` subclass) is a usage error naming the module (exit 2, one line, no traceback) in every
command that loads behaviours (`simulate`, `run`), not a silent exit with the module's code."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli

TPC = str(Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo")
RAISERS = {
    "system-exit": "raise SystemExit(3)\n",
    "base-exception": "class Stop(BaseException):\n    pass\nraise Stop('no')\n",
}


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stderr


def _module(tmp_path: Path, body: str) -> str:
    module = tmp_path / "raising_behaviours.py"
    module.write_text(body, encoding="utf-8")
    return f"{module}:BEHAVIOURS"


def _deployment(tmp_path: Path) -> tuple[str, str]:
    keys = {}
    for device in ("coord", "part"):
        result = CliRunner().invoke(cli, ["keygen", device, "-o", str(tmp_path / "keys"), "--quiet"])
        keys[device] = result.stdout.strip()
    policy = tmp_path / "policy.toml"
    policy.write_text(
        f'journal = "{tmp_path / "journal.db"}"\n[roles]\nCoordinator = "coord"\nParticipant = "part"\n'
        f'[devices.coord]\npublic_key = "{keys["coord"]}"\naddress = "tcp://127.0.0.1:1"\n'
        f'[devices.part]\npublic_key = "{keys["part"]}"\naddress = "tcp://127.0.0.1:2"\n',
        encoding="utf-8",
    )
    return str(policy), str(tmp_path / "keys" / "coord.key")


@pytest.mark.parametrize("body", RAISERS.values(), ids=RAISERS.keys())
def test_simulate_reports_a_behaviours_module_that_exits_while_importing(tmp_path: Path, body: str) -> None:
    code, err = invoke("simulate", TPC, "--behaviours", _module(tmp_path, body))
    assert code == 2
    assert err.startswith("error: cannot import ") and "raising_behaviours.py" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("body", RAISERS.values(), ids=RAISERS.keys())
def test_run_reports_a_behaviours_module_that_exits_while_importing(tmp_path: Path, body: str) -> None:
    policy, key = _deployment(tmp_path)
    spec = _module(tmp_path, body)
    args = ("--role", "Coordinator", "--policy", policy, "--key", key, "--behaviours", spec)
    code, err = invoke("run", TPC, *args)
    assert code == 2
    assert err.startswith("error: cannot import ") and "raising_behaviours.py" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
