"""Traces (JSONL round trip) and the seed corpus: every well-formed seed runs with no user code."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from aura_choreo import ChoreographyError
from aura_choreo.projection.local_types import Quorum
from aura_choreo.protocol import load_all
from aura_choreo.runtime.runner import run_session
from aura_choreo.runtime.trace import Trace, TraceEvent
from aura_choreo.transports.inmemory import InMemoryTransport
from conftest import seed_files


def test_trace_round_trips_through_jsonl(tmp_path: Path) -> None:
    trace = Trace()
    trace.record(TraceEvent("send", "s1", "A", "A", "B", "Ping", 1, 0.5, "P"))
    trace.record(TraceEvent("recv", "s1", "B", "A", "B", "Ping", 1, 0.75, "P"))
    trace.record(TraceEvent("recv", "s2", "B", "A", "B", "Other", 1, 1.0, "P"))
    path = tmp_path / "trace.jsonl"
    trace.write_jsonl(path)
    again = Trace.from_jsonl(path.read_text())
    assert again.events == trace.events
    assert [e.label for e in again.for_session("s1").deliveries()] == ["Ping"]
    first = path.read_text().splitlines()[0]
    assert first.startswith('{"from": "A", "kind": "send", "label": "Ping"')


def test_count_counts_events_of_the_kinds_recorded_and_materialised() -> None:
    trace = Trace([TraceEvent("send", "s1", "A", "A", "B", "Ping", 1, 0.5, "P")])
    trace.record_fields("recv", "s1", "B", "A", "B", "Ping", 1, 0.75, "P")
    trace.record_control("recv", "s1", "B", "A", "B", "Done", 2, 0.8, "P")
    trace.record_fields("send", "s1", "B", "B", "A", "Pong", 1, 0.9, "P")
    counts = (trace.count("recv"), trace.count("send"), trace.count("send", "recv"), trace.count())
    assert counts == (2, 2, 4, 0)
    assert trace.count("recv") == len(trace.of_kind("recv"))  # now materialised: the same answer
    assert trace.count("recv") == 2


def _loadable(path: Path) -> list[str]:
    try:
        return list(load_all(path))
    except ChoreographyError:
        return []  # ill-formed on purpose (the seed outcome table says which)


SEEDS = [(path, name) for path in seed_files() for name in _loadable(path)]


@pytest.mark.parametrize(("path", "name"), SEEDS, ids=[f"{p.stem}:{n}" for p, n in SEEDS])
async def test_every_well_formed_seed_runs_with_the_default_behaviour(path: Path, name: str) -> None:
    protocol = load_all(path)[name]
    for seed in (0, 1):
        # Sizes analysis defaulted must be bound to run (E014 otherwise); 3 is what analysis used.
        session = protocol.session(peer_timeout=5, **dict.fromkeys(protocol.unbound_parameters(), 3))
        await asyncio.wait_for(run_session(session, InMemoryTransport(), seed=seed), 20)
        sent = Counter((e.sender, e.receiver, e.label) for e in session.trace.of_kind("send"))
        received = Counter((e.sender, e.receiver, e.label) for e in session.trace.of_kind("recv"))
        assert sent
        assert not received - sent
        steps = [step for lt in protocol.local_types().values() for step in lt.iter_steps()]
        if not any(isinstance(step, Quorum) for step in steps):
            assert received == sent  # no quorum: every message sent is received exactly once


def test_recorded_events_read_back_in_order_through_every_view() -> None:
    trace = Trace([TraceEvent("send", "s1", "A", "A", "B", "Ping", 1, 0.5, "P")])
    trace.record_fields("recv", "s1", "B", "A", "B", "Ping", 1, 0.75, "P")
    trace.sink()(("send", "s2", "B", "B", "A", "Pong", 3, 0.8, "Q"))
    trace.record_control("recv", "s1", "B", "A", "B", "Done", 2, 0.9, "P")
    user = ("recv", "s1", "B", "A", "B", "Ping", 1, 0.75, "P")
    control = ("recv", "s1", "B", "A", "B", "Done", 2, 0.9, "P", "control")
    assert len(trace) == 4
    assert trace.rows_since(1) == [user, ("send", "s2", "B", "B", "A", "Pong", 3, 0.8, "Q"), control]
    assert trace.rows_since(3) == [control]
    assert list(trace.field_rows("s1"))[1:] == [user, control]
    events = trace.events
    assert [(e.kind, e.session, e.seq, e.time, e.protocol, e.is_control) for e in events] == [
        ("send", "s1", 1, 0.5, "P", False),
        ("recv", "s1", 1, 0.75, "P", False),
        ("send", "s2", 3, 0.8, "Q", False),
        ("recv", "s1", 2, 0.9, "P", True),
    ]
    trace.record(TraceEvent("local", "s1", "A", "A", "A", "tick", 0, 1.0, "P", "user"))
    assert (len(trace), trace.count("recv"), trace.rows_since(4)) == (
        5, 2, [("local", "s1", "A", "A", "A", "tick", 0, 1.0, "P", "user")]
    )
