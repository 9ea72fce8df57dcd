"""Importing a test file that `test-gen` wrote, for the hunt7 tests that run generated suites."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any


def generated_tests(path: Path, prefix: str) -> dict[str, Any]:
    """The `test_*` functions of the generated test file `path`, imported under a name unique to it
    (`prefix` plus a hash of the path), and removed from `sys.modules` again after its import."""
    name = f"{prefix}_{path.stem}_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return {k: v for k, v in vars(module).items() if k.startswith("test_")}
