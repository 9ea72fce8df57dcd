"""A protocol validate accepts and the monitor walks, but the behaviour-driven runtime breaks (hunt5)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from aura_choreo.cli.main import cli
from aura_choreo.protocol import load
from aura_choreo.testing.walk import walk

# Minimised from a protocol drawn by tests/projection/test_projection_property.py's strategy. A
# receives from B in both threads of a `parallel`: M1, M2 in the first (B waits for C in between),
# a loop whose continuation B announces explicitly (Again2 / Done2) in the second.
INTERLEAVED = """protocol Interleaved {
  roles: A, B, C;
  parallel {
    B -> A: M1;
    B -> C: Ping3;
    C -> B: Pong3;
    B -> A: M2;
  |
    rec R2 {
      B -> A: Ping;
      A -> B: Pong;
      choice B { again2: { B -> A: Again2; continue R2; } done2: { B -> A: Done2; } }
    }
  }
}
"""


# `validate` says ok (deadlock free) and `testing.walk` (the monitor under 100 schedules) always ends,
# but `simulate` fails 34 of seeds 0-59 (0-3 among them): A records `recv Again2` and then
# refuses the next Ping with "ProtocolViolation (A at step 4): expected receive M2 from B or receive
# one of Again2, Done2 from B, got receive Ping from B": the Again2 it received did not advance its
# second thread. (`run` over tcp:// passed 3 of 3: other timing.) Cause (fix6): A's first thread,
# waiting for M2, found Again2 and the next round's Ping queued ahead of it; the monitor's
# `receivable_later` said no step would ever take Ping behind Again2 (it did not follow the offer's
# `continue` back to the loop), so Ping was taken out of turn and refused.
def test_every_run_of_a_validated_parallel_with_an_announced_loop_ends(tmp_path: Path) -> None:
    source = tmp_path / "interleaved.choreo"
    source.write_text(INTERLEAVED, encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["validate", str(source)]).exit_code == 0
    types = load(source).local_types()
    assert all(walk(types, seed).ok for seed in range(20))
    simulated = runner.invoke(cli, ["simulate", str(source), "--runs", "4", "--json"])
    assert json.loads(simulated.stdout)["failures"] == []
