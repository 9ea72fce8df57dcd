"""Per-role traces of one session merge into a trace `check_trace` accepts, whatever their clocks say."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from aura_choreo.deployment.traces import merge_role_traces
from aura_choreo.protocol import load
from aura_choreo.runtime.runner import run_session
from aura_choreo.testing import check_trace
from aura_choreo.transports.inmemory import InMemoryTransport
from conftest import SHARED

FILES = [
    Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo",
    SHARED / "corpus" / "literature" / "payment_channel.choreo",
]


@pytest.mark.parametrize("file", FILES, ids=lambda f: f.stem)
@pytest.mark.parametrize("seed", range(5))
async def test_merged_role_traces_check_even_with_skewed_clocks(file: Path, seed: int) -> None:
    protocol = load(file)
    session = protocol.session()
    await run_session(session, InMemoryTransport(), seed=seed)
    rng = random.Random(seed)
    per_role = []
    for role in protocol.roles:
        skew = rng.uniform(-5, 5)  # each host's clock is off by up to 5 s
        per_role.append(
            [dataclasses.replace(e, time=e.time + skew) for e in session.trace.events if e.role == role]
        )
    rng.shuffle(per_role)
    merged = merge_role_traces(per_role)
    assert sorted(map(id, merged)) == sorted(id(e) for t in per_role for e in t)
    assert check_trace(protocol, merged).ok
    naive = [e for t in per_role for e in t]  # plain concatenation: receives before their sends
    assert check_trace(protocol, naive).ok  # SPEC 5.6: concatenated role traces pass as they are
