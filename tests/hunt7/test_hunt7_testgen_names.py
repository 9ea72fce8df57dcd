"""`test-gen` on protocols whose names collide in the suite's files, found by hunt7 (fixed in testgen/).

SPEC §1.1 allows one name in two namespaces (`x.P`, `y.P`), and §7 says the generated suite passes as
generated. But `behaviours.py` named its classes `<Protocol><Role>` from the bare name, so `x.P`'s `PA`
was defined twice and both protocols got `y.P`'s behaviours: `x.P`'s happy paths failed as generated.
And `FooBar` and `Foo_Bar` share the file `test_foo_bar.py`: the second replaced the first, whose tests
were counted ("6 tests") but never written.
"""

from __future__ import annotations

from pathlib import Path

from aura_choreo.docs import load_files
from aura_choreo.testgen import write_suite
from conftest import generated_tests

NAMESPACES = (
    '#[namespace = "x"]\nprotocol P { roles: A, B; A -> B: M(v: u32); }\n'
    '#[namespace = "y"]\nprotocol P { roles: A, B; A -> B: M(w: String); B -> A: Back; }\n'
)
SNAKE = "protocol FooBar { roles: A, B; A -> B: M; }\nprotocol Foo_Bar { roles: A, B; B -> A: N; }\n"


def _suite(tmp_path: Path, text: str) -> tuple[Path, int]:
    source = tmp_path / "p.choreo"
    source.write_text(text, encoding="utf-8")
    loaded = load_files([str(source)])
    assert loaded.ok
    written = write_suite(loaded.protocols, [str(source)] * len(loaded.protocols), tmp_path / "suite")
    return tmp_path / "suite", written.tests


def _run_happy_paths(path: Path) -> int:
    tests = [v for k, v in generated_tests(path, "hunt7_names").items() if k.startswith("test_happy_path")]
    for test in tests:
        test()
    return len(tests)


def test_one_name_in_two_namespaces_gets_a_suite_that_passes(tmp_path: Path) -> None:
    suite, _ = _suite(tmp_path, NAMESPACES)
    files = sorted(p.name for p in suite.glob("test_*.py"))
    assert files == ["test_x_p.py", "test_y_p.py"]
    assert sum(_run_happy_paths(suite / f) for f in files) == 4


def test_protocols_with_one_snake_case_name_keep_both_test_files(tmp_path: Path) -> None:
    suite, counted = _suite(tmp_path, SNAKE)
    files = sorted(suite.glob("test_*.py"))
    assert len(files) == 2
    written = sum(p.read_text(encoding="utf-8").count("\ndef test_") for p in files)
    assert written == counted
    assert sum(_run_happy_paths(f) for f in files) == 4
