"""The coordinators' own exchanges are choreographies: shipped with the package and deadlock-free."""

from __future__ import annotations

from importlib import resources

import pytest

from aura_choreo.cli.main import main as cli_main
from aura_choreo.orchestration.exchange import PROTOCOL_FILES, protocol_text, shipped_protocol
from aura_choreo.verify.report import verify_protocol


def test_every_protocol_file_is_a_package_resource() -> None:
    folder = resources.files("aura_choreo.orchestration") / "protocols"
    shipped = sorted(p.name for p in folder.iterdir() if p.name.endswith(".choreo"))
    assert shipped == sorted(PROTOCOL_FILES)


@pytest.mark.parametrize("filename", PROTOCOL_FILES)
def test_shipped_protocol_is_deadlock_free(filename: str) -> None:
    report = verify_protocol(shipped_protocol(filename).local_types())
    assert report.deadlock_free and report.complete
    assert not report.findings


@pytest.mark.parametrize("filename", PROTOCOL_FILES)
def test_shipped_protocol_validates_strictly_from_the_command_line(
    filename: str, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / filename
    path.write_text(protocol_text(filename), encoding="utf-8")
    with pytest.raises(SystemExit) as done:
        cli_main(["validate", "--strict", str(path)])
    assert done.value.code == 0, capsys.readouterr().out


def test_unknown_protocol_is_refused() -> None:
    with pytest.raises(ValueError, match="no shipped protocol"):
        protocol_text("nope.choreo")
