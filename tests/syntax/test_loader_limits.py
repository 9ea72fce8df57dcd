"""Imports read regular files only, size-limited; long import chains are fine (issue #11 item 17)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aura_choreo.syntax import loader
from aura_choreo.syntax.loader import load_sources

BODY = "choreography C{n} {{ roles: A, B; A -> B: M{n}; }}\n"


def _importer(tmp_path: Path, target: str) -> Path:
    main = tmp_path / "main.choreo"
    main.write_text(f'import "{target}"\n' + BODY.format(n=0))
    return main


def test_importing_dev_zero_is_an_e002_not_an_endless_read(tmp_path: Path) -> None:
    result = load_sources(_importer(tmp_path, "/dev/zero"))
    assert [d.code for d in result.diagnostics] == ["E002"]
    assert "not a regular file" in result.diagnostics[0].message
    assert result.diagnostics[0].span.file == str(tmp_path / "main.choreo")
    assert "not a device, pipe or directory" in " ".join(result.diagnostics[0].hints)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_importing_a_named_pipe_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.choreo")
    result = load_sources(_importer(tmp_path, "pipe.choreo"))
    assert [d.code for d in result.diagnostics] == ["E002"]
    assert "not a regular file" in result.diagnostics[0].message


def test_a_directory_given_directly_is_an_e002(tmp_path: Path) -> None:
    result = load_sources(tmp_path)
    assert [d.code for d in result.diagnostics] == ["E002"]


def test_an_imported_file_over_the_size_limit_is_an_e002(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader, "MAX_SOURCE_BYTES", 1000)
    (tmp_path / "big.choreo").write_text("// " + "x" * 2000 + "\n" + BODY.format(n=1))
    result = load_sources(_importer(tmp_path, "big.choreo"))
    assert [d.code for d in result.diagnostics] == ["E002"]
    assert "over the 1000-byte limit" in result.diagnostics[0].message


def test_a_thousand_file_import_chain_loads(tmp_path: Path) -> None:
    count = 1000
    for n in range(count):
        imports = f'import "f{n + 1}.choreo"\n' if n + 1 < count else ""
        (tmp_path / f"f{n}.choreo").write_text(imports + BODY.format(n=n))
    result = load_sources(tmp_path / "f0.choreo")
    assert result.ok, [str(d.message) for d in result.diagnostics[:3]]
    assert len(result.files) == count
    assert next(iter(result.files)).endswith("f999.choreo")  # imports first


def test_an_import_cycle_is_still_reported_at_the_import(tmp_path: Path) -> None:
    (tmp_path / "a.choreo").write_text('import "b.choreo"\n' + BODY.format(n=1))
    (tmp_path / "b.choreo").write_text('import "a.choreo"\n' + BODY.format(n=2))
    result = load_sources(tmp_path / "a.choreo")
    assert [d.code for d in result.diagnostics] == ["E002"]
    assert "import cycle" in result.diagnostics[0].message
    assert result.diagnostics[0].span.file.endswith("b.choreo")
