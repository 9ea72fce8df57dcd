"""Labels spelled like the names `messages.py` binds itself, found by hunt7 (fixed in codegen/messages.py).

`messages.py` starts with `from __future__ import annotations` and, when a field's type must be written
qualified (a field named `str`, hunt6), `import builtins` / `import typing`. A label `annotations`,
`builtins` or `typing` became a class of that name: mypy --strict failed on every generated package
(`Name "annotations" already defined`, `messages.builtins is not defined`), against SPEC §6, and with
`builtins` the Struct could not even be built at run time (`builtins.str` then meant the class's
field: "Type '<member 'str' of 'builtins' objects>' is not supported"). Such labels now get the `M_`
prefix keyword labels already get. Below: choreographies named like an imported module.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import msgspec
import pytest

from aura_choreo.codegen import CodegenError, write
from aura_choreo.codegen.build import compile_file

SOURCE = """\
protocol LabelAnnotations { roles: A, B; A -> B: annotations(x: i32); B -> A: Ok; }
protocol LabelBuiltins { roles: A, B; A -> B: builtins(str: String, y: String); B -> A: Ok; }
protocol LabelTyping { roles: A, B; A -> B: typing(Any: Foo, y: Foo); B -> A: Ok; }
"""


def test_labels_named_like_the_modules_own_names_pass_mypy_and_run(tmp_path: Path) -> None:
    from mypy import api

    source = tmp_path / "labels.choreo"
    source.write_text(SOURCE, encoding="utf-8")
    out = tmp_path / "out"
    for package in compile_file(str(source)).packages:
        write(package, str(out))
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n", encoding="utf-8")
    limit = sys.getrecursionlimit()  # mypy raises it for the whole process; other tests rely on it
    try:
        stdout, stderr, status = api.run(
            ["--strict", "--config-file", str(config), "--cache-dir", str(tmp_path / "cache"), str(out)]
        )
    finally:
        sys.setrecursionlimit(limit)
    assert status == 0, stdout + stderr

    sys.path.insert(0, str(out))
    try:
        messages = importlib.import_module("label_builtins.messages")
        label = next(v for k, v in vars(messages).items() if k.endswith("builtins") and isinstance(v, type))
        value = msgspec.msgpack.decode(msgspec.msgpack.encode(label(str="a", y="b")), type=label)
        assert (value.str, value.y) == ("a", "b")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m.startswith("label_builtins")]:
            del sys.modules[name]


# A choreography named like a module Python code imports became a top-level package of that name:
# `Typing` wrote `typing/` (mypy: "This file shadows library module typing", nothing checked), `Json`
# wrote `json/`, and with the output directory on sys.path (running from it) `import json.a` replaced
# the standard `json` for the whole process (`json.dumps` gone). compile now refuses it, naming it.
@pytest.mark.parametrize("name", ["Typing", "Json", "Queue", "Msgspec", "AuraChoreo"])
def test_a_package_that_would_hide_an_imported_module_is_refused(tmp_path: Path, name: str) -> None:
    source = tmp_path / "shadow.choreo"
    source.write_text(f"protocol {name} {{ roles: A, B; A -> B: M; }}\n", encoding="utf-8")
    with pytest.raises(CodegenError, match=f"`{name}`.*hides the module"):
        compile_file(str(source))
    source.write_text(
        f'#[namespace = "app"]\nprotocol {name} {{ roles: A, B; A -> B: M; }}\n', encoding="utf-8"
    )
    assert [p.directory.split("/")[0] for p in compile_file(str(source)).packages] == ["app"]
