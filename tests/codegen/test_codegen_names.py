"""The naming rule of generated packages (`codegen.names`): escapes and collisions, deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli
from aura_choreo.codegen.names import module_name, module_names


def test_keywords_and_the_messages_module_get_a_trailing_underscore() -> None:
    assert [module_name(n) for n in ("class", "Match", "Order")] == ["class_", "match_", "order"]
    assert module_names(["Messages", "B"]) == ["messages_", "b"]


def test_colliding_roles_are_numbered_in_role_order() -> None:
    assert module_names(["FooBar", "Foo_Bar", "foo_bar"]) == ["foo_bar", "foo_bar_2", "foo_bar_3"]
    assert module_names(["\ufb01x", "fix"]) == ["fix", "fix_2"]  # `ﬁx` is `fix` to Python (NFKC)


@pytest.mark.parametrize(
    "text",
    [
        "protocol FooBar { roles: A, B; A -> B: M; }\nprotocol Foo_Bar { roles: A, B; B -> A: N; }\n",
        'protocol K { roles: A, B; A -> B: M; }\n#[namespace = "k"]\nprotocol X { roles: A, B; B -> A: N; }',
    ],
)
def test_compile_refuses_two_choreographies_that_share_a_file(tmp_path: Path, text: str) -> None:
    source = tmp_path / "two.choreo"
    source.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["compile", str(source), "-o", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "would both write" in result.output, result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.py"))
