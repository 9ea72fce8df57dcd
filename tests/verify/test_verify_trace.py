"""Counterexamples as steps, JSON and Mermaid sequence diagrams; late messages discarded on the way."""

from __future__ import annotations

import json
from collections.abc import Callable

from verify_replay import enabled, lt, machines_of, replay

from aura_choreo.projection.local_types import Quorum, Recv, Send
from aura_choreo.verify import FindingKind, explore, verify_protocol
from aura_choreo.verify.trace import TraceStep


def test_a_run_through_a_quorum_shows_the_late_answer_being_discarded() -> None:
    leader = lt("C", Quorum(1, (Recv("S[0]", "Vote"), Recv("S[1]", "Vote"))), Recv("S[1]", "Extra"))
    machines = machines_of(leader, lt("S[0]", Send("C", "Vote")), lt("S[1]", Send("C", "Vote")))
    result = explore(list(machines.values()), por=False)
    (deadlock,) = [f for f in result.findings if f.kind is FindingKind.DEADLOCK]
    assert TraceStep("C", "discard", "S[1]", "Vote") in deadlock.steps
    config = replay(machines, deadlock.steps)
    assert enabled(machines, config) == []


def test_sequence_diagram_golden(golden: Callable[[str, str], None]) -> None:
    a = lt("Client", Send("Server", "Hello"), Recv("Server", "Welcome"))
    b = lt("Server", Recv("Client", "Hello"), Recv("Client", "Data"), Send("Client", "Welcome"))
    report = verify_protocol({"Client": a, "Server": b})
    (deadlock,) = report.of_kind(FindingKind.DEADLOCK)
    golden("deadlock.mmd", deadlock.sequence_diagram())
    golden("deadlock.json", json.dumps(deadlock.to_json(), indent=2) + "\n")
    diagnostic = deadlock.to_diagnostic()
    assert diagnostic.code == "E100"
    assert diagnostic.hints == (
        "shortest run: 1. Client sends Hello to Server; 2. Server receives Hello from Client",
    )
