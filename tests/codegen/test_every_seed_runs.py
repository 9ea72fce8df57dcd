"""Every role of every compiled seed and example runs to its end through its generated API, driven by a
generic user of the API (`typestate_driver`), with the other roles behaviour-driven, on the simulator."""

from __future__ import annotations

import importlib
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from codegen_fixtures import EXAMPLES, POLL, Generated, generate_everything, package_name, seed_files
from typestate_driver import drive

from aura_choreo.codegen import snake_case
from aura_choreo.protocol import load_all
from aura_choreo.testing.simulation import simulate

SOURCES = [*seed_files(), *EXAMPLES, POLL]


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return generate_everything(tmp_path_factory)


def driven(module: Any, role: str, seed: int) -> Any:
    base, _, index = role.partition("[")
    start = getattr(module, f"start_{snake_case(base)}")

    async def code(ep: Any) -> str:
        first = start(ep, int(index[:-1])) if index else start(ep)
        end = await drive(first, random.Random(seed))
        return type(end).__name__

    return code


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_every_role_runs_through_its_generated_api(generated: Generated, source: Path) -> None:
    if source.name in generated.not_projectable:
        pytest.skip("does not load (undefined sub-protocol)")
    sys.path.insert(0, str(generated.gen))
    try:
        protocols = load_all(source)
        for directory, protocol in zip(generated.compiled[source.name], protocols.values(), strict=True):
            package = f"{package_name(source)}.{directory.replace('/', '.')}"
            for seed, role in enumerate(protocol.roles):
                module = importlib.import_module(f"{package}.{snake_case(role.partition('[')[0])}")
                report = simulate(protocol, seed=seed, roles={role: driven(module, role, seed)})
                assert report.ok, f"{protocol.qualified_name} {role}: {report.summary()}"
    finally:
        sys.path.remove(str(generated.gen))
