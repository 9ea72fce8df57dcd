"""`keygen` and `run`'s usage errors: clear messages, exit 2, never a traceback (no sockets needed)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli
from aura_choreo.transports.net.identity import load_identity

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_keygen_writes_a_private_key_and_prints_the_public_key(tmp_path: Path) -> None:
    code, out = invoke("keygen", "alice", "-o", str(tmp_path), "--json")
    assert code == 0
    document = json.loads(out[out.index("{") :])
    key_file = tmp_path / "alice.key"
    assert document["key_file"] == str(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert document["public_key"].startswith("ed25519:")
    code, _ = invoke("keygen", "alice", "-o", str(tmp_path))
    assert code == 2  # never overwrites silently
    assert load_identity(key_file).device == "alice"


@pytest.fixture
def deployment(tmp_path: Path) -> tuple[Path, Path]:
    keys = {}
    for device in ("coord", "part"):
        _, out = invoke("keygen", device, "-o", str(tmp_path), "--quiet")
        keys[device] = out.strip()
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[roles]\nCoordinator = "coord"\nParticipant = "part"\n'
        f'[devices.coord]\npublic_key = "{keys["coord"]}"\naddress = "tcp://127.0.0.1:1"\n'
        f'[devices.part]\npublic_key = "{keys["part"]}"\naddress = "tcp://127.0.0.1:2"\n',
        encoding="utf-8",
    )
    return policy, tmp_path


def run(policy: Path, key: Path, *extra: str) -> tuple[int, str]:
    return invoke("run", str(TPC), "--policy", str(policy), "--key", str(key), *extra)


def test_a_key_readable_by_others_is_a_usage_error(deployment: tuple[Path, Path]) -> None:
    policy, folder = deployment
    os.chmod(folder / "coord.key", 0o644)
    code, out = run(policy, folder / "coord.key", "--role", "Coordinator")
    assert code == 2 and "chmod 600" in out


def test_the_wrong_device_key_for_the_role_is_a_usage_error(deployment: tuple[Path, Path]) -> None:
    policy, folder = deployment
    code, out = run(policy, folder / "part.key", "--role", "Coordinator")
    assert code == 2
    assert "does not match the public key the policy pins for coord" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--role", "Nobody"), "no role `Nobody`"),
        (("--role", "Coordinator", "--peer", "Participant"), "--peer expects ROLE=ADDRESS"),
        (("--role", "Coordinator", "--peer", "Ghost=tcp://127.0.0.1:9"), "not a role"),
        (("--role", "Coordinator", "--listen", "udp://127.0.0.1:9"), "expected tcp://host:port"),
        (("--role", "Coordinator", "--timeout", "0"), "must be positive"),
        (("--role", "Coordinator", "--behaviours", "no_such_module_x:obj"), "cannot import"),
    ],
)
def test_bad_flags_are_usage_errors(
    deployment: tuple[Path, Path], extra: tuple[str, ...], message: str
) -> None:
    policy, folder = deployment
    code, out = run(policy, folder / "coord.key", *extra)
    assert code == 2, out
    assert message in out


def test_a_policy_without_the_peer_key_says_how_to_make_one(tmp_path: Path) -> None:
    invoke("keygen", "coord", "-o", str(tmp_path))
    policy = tmp_path / "p.toml"
    policy.write_text('[roles]\nCoordinator = "coord"\nParticipant = "part"\n', encoding="utf-8")
    code, out = run(policy, tmp_path / "coord.key", "--role", "Coordinator")
    assert code == 2 and "aura-choreo keygen part" in out


def test_two_devices_without_addresses_is_a_usage_error(deployment: tuple[Path, Path]) -> None:
    policy, folder = deployment
    text = "\n".join(line for line in policy.read_text().splitlines() if not line.startswith("address"))
    policy.write_text(text + "\n", encoding="utf-8")
    code, out = run(policy, folder / "coord.key", "--role", "Coordinator")
    assert code == 2 and "neither coord nor part has an address" in out


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc: a folder no one can create")
def test_keygen_into_a_folder_that_cannot_be_made_is_a_usage_error() -> None:
    code, out = invoke("keygen", "alice", "-o", "/proc/aura-choreo-nope")
    assert code == 2, out
    assert "cannot write into `/proc/aura-choreo-nope`" in out and "internal error" not in out
