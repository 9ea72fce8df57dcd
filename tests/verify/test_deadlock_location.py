"""E100 points at the statement where the counterexample leaves a role waiting (issue 11 item 8).

Before, every deadlock was reported at the choreography header, whatever statement the role was
stuck at; the shortest run is still the hint.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from aura_choreo import choreography
from aura_choreo.cli.main import cli
from aura_choreo.verify import verify_protocol
from aura_choreo.verify.findings import FindingKind

RELAY = """protocol TimeoutRelay {
  roles: S, C, D;
  S -> C: Start;
  timeout(5s) { S -> C: Resp; C -> D: Fwd; } or { C -> D: Giveup; }
}
"""

PARALLEL_RELAY = """protocol ParRelay {
  roles: S, C, D;
  parallel {
    S -> D: Hello
    | timeout(5s) { S -> C: Resp; C -> D: Fwd; } or { C -> D: Giveup; }
  }
}
"""


def test_a_timeout_race_deadlock_is_reported_at_the_receive_the_role_waits_at(tmp_path: Path) -> None:
    path = tmp_path / "relay.choreo"
    path.write_text(RELAY, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:4:51: error[E100]: TimeoutRelay: deadlock: D waits for C?Giveup" in result.output
    assert "shortest run: 1. S sends Start to C" in result.output


def test_the_deadlock_finding_carries_the_span_of_the_waiting_statement() -> None:
    report = verify_protocol(choreography(RELAY).local_types())
    (deadlock,) = report.of_kind(FindingKind.DEADLOCK)
    assert (deadlock.span.line, deadlock.span.column) == (4, 51)
    assert deadlock.roles == ("D",)


def test_a_deadlock_inside_a_parallel_block_is_located_too() -> None:
    report = verify_protocol(choreography(PARALLEL_RELAY).local_types())
    (deadlock,) = report.of_kind(FindingKind.DEADLOCK)
    assert (deadlock.span.line, deadlock.span.column) == (5, 55)
