"""A load with no choreography to use is E091 (SPEC §2 gives E020 to an undefined sub-protocol, which
these loads were reported as): a file that declares none, none by the name asked for, or several and
no name. `validate` says the same of a given file that declares none, instead of "ok: 0"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aura_choreo import load
from aura_choreo.errors import ChoreographyError
from aura_choreo.pipeline import validate_paths


def _codes(path: Path, name: str | None = None) -> list[tuple[str, str]]:
    with pytest.raises(ChoreographyError) as caught:
        load(path, name)
    return [(d.code, d.message) for d in caught.value.diagnostics]


@pytest.mark.parametrize("text", ["", "// only a comment\n"], ids=["empty", "comment"])
def test_loading_a_file_without_a_choreography_is_e091(tmp_path: Path, text: str) -> None:
    path = tmp_path / "nothing.choreo"
    path.write_text(text, encoding="utf-8")
    assert _codes(path) == [("E091", f"`{path}` declares no choreography")]


def test_the_rendered_e091_names_the_file_and_how_a_choreography_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden: Callable[[str, str], None]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("E091_no_choreography.choreo").write_text("// nothing here yet\n", encoding="utf-8")
    with pytest.raises(ChoreographyError) as caught:
        load("E091_no_choreography.choreo")
    golden("E091_no_choreography.txt", caught.value.render() + "\n")


def test_a_missing_or_ambiguous_name_is_e091_too(tmp_path: Path) -> None:
    path = tmp_path / "two.choreo"
    ping = "choreography Ping { roles: A, B\n A -> B: Hi }\n"
    pong = "choreography Pong { roles: A, B\n B -> A: Ho }\n"
    path.write_text(ping + pong, encoding="utf-8")
    [(code, message)] = _codes(path)
    assert code == "E091" and "declares 2 choreographies; say which one: Ping, Pong" in message
    [(code, message)] = _codes(path, "Pang")
    assert code == "E091" and "has no choreography `Pang`" in message


@pytest.mark.parametrize("text", ["", "// only a comment\n"], ids=["empty", "comment"])
def test_validate_reports_a_file_without_a_choreography(tmp_path: Path, text: str) -> None:
    path = tmp_path / "nothing.choreo"
    path.write_text(text, encoding="utf-8")
    validation = validate_paths([str(path)])
    assert not validation.ok
    assert [(d.code, d.span.file) for d in validation.diagnostics] == [("E091", str(path))]


def test_validate_of_a_file_that_does_not_parse_reports_only_its_syntax_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.choreo"
    path.write_text("choreography {\n", encoding="utf-8")
    codes = {d.code for d in validate_paths([str(path)]).diagnostics}
    assert "E091" not in codes and codes
