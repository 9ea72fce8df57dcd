"""A deployed role whose journal or device storage cannot be opened (a directory, a text file, below a
file): `run_deployed_role` returns the `JournalError` in its outcome, as its docstring promises (it
raised it), and `run` reports a usage error (exit 2) naming the policy and the file, before the role
sends anything, for the storage file (`<journal>.storage`) as for the journal (no peer needed)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from aura_choreo.cli.main import main
from aura_choreo.deployment import plan_deployment, run_deployed_role
from aura_choreo.errors import JournalError
from aura_choreo.guards import load_policy
from aura_choreo.protocol import load
from aura_choreo.transports.net.identity import load_identity, write_key_file

TPC = str(Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo")
STORING = (
    "from aura_choreo.effects import role_effects\n"
    "class Coordinator:\n"
    "    async def PrepareRequest(self, env):\n"
    "        await role_effects().store_put('tx', 7)\n"
    "        return {'transaction_id': 7}\n"
    "BEHAVIOURS = {'Coordinator': Coordinator()}\n"
)


def _policy(folder: Path, journal: Path) -> Path:
    """A two-device policy journaling to `journal`, with the devices' keys in `folder/keys`."""
    devices = ""
    for device, port in (("coord", 1), ("part", 2)):
        _, public = write_key_file(device, folder / "keys")
        devices += f'[devices.{device}]\npublic_key = "{public}"\naddress = "tcp://127.0.0.1:{port}"\n'
    policy = folder / "policy.toml"
    text = f'journal = "{journal}"\n[roles]\nCoordinator = "coord"\nParticipant = "part"\n{devices}'
    policy.write_text(text, encoding="utf-8")
    return policy


def test_run_deployed_role_returns_an_unopenable_journal_in_its_outcome(tmp_path: Path) -> None:
    journal = tmp_path / "journal.db"
    journal.mkdir()
    policy = load_policy(_policy(tmp_path, journal))
    coord = load_identity(tmp_path / "keys" / "coord.key")
    deployment = plan_deployment(load(TPC), policy, coord, "Coordinator")
    outcome = asyncio.run(run_deployed_role(deployment, connect_timeout=1.0))
    assert not outcome.ok
    assert isinstance(outcome.error, JournalError) and str(journal) in str(outcome.error)
    assert outcome.to_json()["error"]["error"] == "JournalError"  # type: ignore[index]


@pytest.mark.parametrize("storage_kind", ["a-directory", "a-text-file"])
def test_run_with_an_unopenable_device_storage_is_a_usage_error_naming_it(
    tmp_path: Path, storage_kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "journal.db"
    storage = tmp_path / "journal.db.storage"
    if storage_kind == "a-directory":
        storage.mkdir()
    else:
        storage.write_text("not a database\n", encoding="utf-8")
    behaviours = tmp_path / "storing.py"
    behaviours.write_text(STORING, encoding="utf-8")
    policy = _policy(tmp_path, journal)
    key = str(tmp_path / "keys" / "coord.key")
    args = ["run", TPC, "--role", "Coordinator", "--policy", str(policy), "--key", key]
    with pytest.raises(SystemExit) as ended:
        main([*args, "--behaviours", f"{behaviours}:BEHAVIOURS", "--connect-timeout", "1", "--json"])
    captured = capsys.readouterr()
    assert "internal error" not in captured.err and "Traceback" not in captured.err
    assert ended.value.code == 2, captured.err
    assert str(storage) in captured.err and str(policy) in captured.err
    document = json.loads(captured.out)
    assert document["ok"] is False and document["role"] == "Coordinator"
    assert document["error"]["error"] == "JournalError" and str(storage) in document["error"]["message"]
