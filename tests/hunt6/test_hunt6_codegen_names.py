"""Names the DSL accepts that the generated package (SPEC §6) cannot carry, found by hunt6.

SPEC §1.2 lets any identifier name a role or a field (keywords are reserved only where the grammar needs
them), and SPEC §6 says every generated package is importable Python that passes `mypy --strict`. Each
test accepts either fix: compile refuses the name with a `CodegenError` that names it, or the package
it writes is sound. Each is xfail (strict) until one of them lands.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from aura_choreo.codegen import CodegenError, write
from aura_choreo.codegen.build import compile_file
from aura_choreo.codegen.package import Package
from aura_choreo.errors import ChoreographyError


def _compile(tmp_path: Path, text: str) -> list[Package] | CodegenError:
    source = tmp_path / "names.choreo"
    source.write_text(text, encoding="utf-8")
    try:
        return compile_file(str(source)).packages
    except CodegenError as exc:
        return exc


def _role_modules(package: Package) -> set[str]:
    return {
        path.rsplit("/", 1)[1]
        for path in package.files
        if path.rsplit("/", 1)[1] not in {"__init__.py", "messages.py"}
    }


def test_a_role_named_after_a_python_keyword_gives_importable_code(tmp_path: Path) -> None:
    result = _compile(tmp_path, "protocol K { roles: class, B; class -> B: Ping; B -> class: Pong; }")
    if isinstance(result, CodegenError):
        assert "class" in str(result)
        return
    for package in result:
        for path, text in package.files.items():
            compile(text, path, "exec")  # raises SyntaxError today (`from .class import ...`)
    out = tmp_path / "out"
    for package in result:
        write(package, str(out))
    sys.path.insert(0, str(out))
    try:
        package = importlib.import_module("k")
        roles = [name for name in package.__all__ if name != "messages"]
        assert len(roles) == 2, package.__all__
        for name in roles:  # each role module imports and has its start function
            module = importlib.import_module(f"k.{name}")
            assert [f for f in dir(module) if f.startswith("start_")], name
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == "k" or m.startswith("k.")]:
            del sys.modules[name]


def test_a_role_named_messages_does_not_replace_the_message_module(tmp_path: Path) -> None:
    text = "protocol K { roles: Messages, B; Messages -> B: Ping; B -> Messages: Pong; }"
    result = _compile(tmp_path, text)
    if isinstance(result, CodegenError):
        assert "Messages" in str(result)
        return
    (package,) = result
    # Today `k/messages.py` is the role module of `Messages`: the message Structs are gone, and
    # `b.py`'s `messages.Ping` is an AttributeError at run time.
    assert "class Ping(" in package.files["k/messages.py"]
    assert len(_role_modules(package)) == 2


@pytest.mark.parametrize("roles", [("FooBar", "Foo_Bar"), ("A", "a")])
def test_roles_with_colliding_module_names_each_get_their_api(tmp_path: Path, roles: tuple[str, str]) -> None:
    first, second = roles
    text = f"protocol K {{ roles: {first}, {second}; {first} -> {second}: Ping; {second} -> {first}: Pong; }}"
    result = _compile(tmp_path, text)
    if isinstance(result, CodegenError):
        assert first in str(result) and second in str(result)
        return
    (package,) = result
    # Today one file is written for both roles (the later overwrites the earlier), so `start_<first>`
    # builds the API of `second`, and running it raises "this API is for role ..., but the endpoint
    # plays ...".
    assert len(_role_modules(package)) == 2, sorted(package.files)


def _mypy_strict(tmp_path: Path, packages: list[Package]) -> tuple[int, str]:
    from mypy import api

    out = tmp_path / "out"
    for package in packages:
        write(package, str(out))
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n", encoding="utf-8")
    limit = sys.getrecursionlimit()  # mypy raises it for the whole process; other tests rely on it
    try:
        stdout, stderr, status = api.run(
            [
                "--strict",
                "--config-file",
                str(config),
                "--cache-dir",
                str(tmp_path / "cache"),
                "--no-error-summary",
                str(out),
            ]
        )
    finally:
        sys.setrecursionlimit(limit)
    return status, stdout + stderr


# Two fields in one message, one of them named after a builtin type that the other field's annotation
# uses: inside the generated Struct `str: str` then `x: str` makes mypy read `x`'s type as the field.
# Likewise a field named `__class__` or `__struct_fields__` clashes with what the Struct inherits.
def test_field_names_that_shadow_types_or_struct_attributes_pass_mypy(tmp_path: Path) -> None:
    # A field named after a type another field uses compiles to code mypy --strict accepts.
    shadow = "protocol Shadow { roles: A, B; A -> B: M(str: String, x: String); B -> A: R; }\n"
    result = _compile(tmp_path, shadow)
    if not isinstance(result, CodegenError):
        status, report = _mypy_strict(tmp_path, result)
        assert status == 0, report
    # One that clashes with what every message class inherits is refused up front, with a
    # diagnostic (E015: a field name starting with `__`), never code that fails mypy.
    inherited = "protocol Inherited { roles: A, B; A -> B: M(__class__: i32); B -> A: R; }\n"
    with pytest.raises(ChoreographyError, match="E015"):
        _compile(tmp_path, inherited)


# Two choreographies of one file (SPEC §1.1 allows both: distinct qualified names) whose packages land
# in one directory: `FooBar` and `Foo_Bar` both become `foo_bar/`; a choreography `K` and the namespace
# `k` of another both own `k/__init__.py`. The later package's files replace the earlier's on disk.
@pytest.mark.parametrize(
    "text",
    [
        "protocol FooBar { roles: A, B; A -> B: M; }\nprotocol Foo_Bar { roles: A, B; B -> A: N; }\n",
        'protocol K { roles: A, B; A -> B: M; }\n#[namespace = "k"]\nprotocol X { roles: A, B; B -> A: N; }',
    ],
    ids=["snake-case", "namespace-and-name"],
)
def test_choreographies_of_one_file_never_write_the_same_file(tmp_path: Path, text: str) -> None:
    result = _compile(tmp_path, text)
    if isinstance(result, CodegenError):
        return
    paths = [path for package in result for path in package.files]
    assert sorted({p for p in paths if paths.count(p) > 1}) == []


# Python reads identifiers in NFKC form (PEP 3131), the DSL does not: roles `ﬁx` (with the ligature)
# and `fix` are two roles and two files, `ﬁx.py` and `fix.py`, but `import k.ﬁx` imports `k.fix`, so
# the first role's API cannot be imported at all.
def test_role_modules_are_distinct_as_python_reads_them(tmp_path: Path) -> None:
    import unicodedata

    result = _compile(tmp_path, "protocol K { roles: ﬁx, fix; ﬁx -> fix: Ping; fix -> ﬁx: Pong; }")
    if isinstance(result, CodegenError):
        return
    (package,) = result
    names = [unicodedata.normalize("NFKC", name) for name in _role_modules(package)]
    assert len(set(names)) == 2, sorted(package.files)
