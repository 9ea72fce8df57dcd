"""`load_sources`: imports followed relative to the importing file, dependency order, E002."""

from __future__ import annotations

from pathlib import Path

from aura_choreo.syntax import load_sources


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def choreo(name: str, imports: tuple[str, ...] = ()) -> str:
    lines = [f'import "{i}";' for i in imports]
    return "\n".join([*lines, f"choreography {name} {{\n    roles: A, B;\n    A -> B: M;\n}}\n"])


def test_imports_come_first_in_dependency_order(tmp_path: Path) -> None:
    write(tmp_path / "lib" / "base.choreo", choreo("Base"))
    write(tmp_path / "lib" / "mid.choreo", choreo("Mid", ("base.choreo",)))
    main = write(tmp_path / "main.choreo", choreo("Main", ("lib/mid.choreo", "lib/base.choreo")))
    result = load_sources(main)
    assert result.diagnostics == []
    names = [f.choreographies[0].name for f in result.files.values()]
    assert names == ["Base", "Mid", "Main"]
    assert set(result.sources) == set(result.files)


def test_a_missing_import_is_E002_at_the_import(tmp_path: Path) -> None:
    main = write(tmp_path / "main.choreo", choreo("Main", ("nope.choreo",)))
    result = load_sources(main)
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("E002", 1)]
    assert "nope.choreo" in result.diagnostics[0].message
    assert not result.ok
    assert [f.choreographies[0].name for f in result.files.values()] == ["Main"]


def test_an_import_cycle_is_E002_naming_the_cycle(tmp_path: Path) -> None:
    write(tmp_path / "a.choreo", choreo("A1", ("b.choreo",)))
    write(tmp_path / "b.choreo", choreo("B1", ("a.choreo",)))
    result = load_sources(tmp_path / "a.choreo")
    assert [d.code for d in result.diagnostics] == ["E002"]
    assert "a.choreo -> " in result.diagnostics[0].message
    assert result.diagnostics[0].span.file.endswith("b.choreo")


def test_a_missing_root_file_is_a_diagnostic(tmp_path: Path) -> None:
    result = load_sources(tmp_path / "absent.choreo")
    assert [d.code for d in result.diagnostics] == ["E002"]
    assert result.files == {}


def test_invalid_utf8_is_reported_and_the_rest_still_parses(tmp_path: Path) -> None:
    path = tmp_path / "latin.choreo"
    path.write_bytes(choreo("Latin").encode() + b"// caf\xe9\n")
    result = load_sources(path)
    assert [d.code for d in result.diagnostics] == ["E001"]
    assert [c.name for f in result.files.values() for c in f.choreographies] == ["Latin"]
