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


def test_fields_named_after_the_types_of_their_message_pass_mypy_and_keep_their_types(tmp_path: Path) -> None:
    # hunt6: inside the Struct, `str: str` then `x: str` made mypy (and get_type_hints) read `x`'s type
    # as the field `str`; the generator now spells a shadowed type `builtins.str` / `typing.Any`.
    import sys

    import msgspec
    from mypy import api

    from aura_choreo.codegen import write
    from aura_choreo.codegen.build import compile_file

    source = tmp_path / "shadow.choreo"
    source.write_text(
        "protocol Shadow { roles: A, B; A -> B: M(str: String, x: String, Any: Foo, y: Vec<Bar>);"
        " B -> A: R(list: Vec<i32>, int: i64); }\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    for package in compile_file(str(source)).packages:
        write(package, str(out))
    (tmp_path / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")
    limit = sys.getrecursionlimit()  # mypy raises it for the whole process; other tests rely on it
    try:
        stdout, stderr, status = api.run(
            [
                "--strict",
                "--config-file",
                str(tmp_path / "mypy.ini"),
                "--cache-dir",
                str(tmp_path / "c"),
                str(out),
            ]
        )
    finally:
        sys.setrecursionlimit(limit)
    assert status == 0, stdout + stderr
    sys.path.insert(0, str(out))
    try:
        import importlib

        messages = importlib.import_module("shadow.messages")
        wrong = messages.M(str="a", x=5, Any=None, y=[])
        with pytest.raises(msgspec.ValidationError):  # `x` is still a str field at run time
            msgspec.msgpack.decode(msgspec.msgpack.encode(wrong), type=messages.M)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == "shadow" or m.startswith("shadow.")]:
            del sys.modules[name]
