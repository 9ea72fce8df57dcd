"""A counted loop whose count is a payload field (issue 11 item 6): the received value, never a parameter.

Every role of the loop must know the field before the loop (E032 otherwise); then each runs the body
as often as the value that was sent says.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli
from aura_choreo.protocol import choreography
from aura_choreo.semantics import check_choreography
from aura_choreo.syntax import parse_source
from aura_choreo.testing.simulation import run_simulation
from aura_choreo.verify import role_budget

UNKNOWN_TO_B = """choreography Bad {
  roles: A, B, C
  A -> C: Start(n: u32);
  loop (count: n) { A -> B: Ping; }
}
"""

EVERY_ROLE_KNOWS = """choreography Good {
  roles: A, B, C
  A -> B: Start(n: u32);
  A -> C: Start2(n: u32);
  loop (count: n) { A -> B: Ping; B -> C: Pong; }
}
"""


def codes(source: str) -> list[str]:
    (chor,) = parse_source(source, "t.choreo").file.choreographies
    return [d.code for d in check_choreography(chor).diagnostics]


def test_a_loop_role_that_does_not_know_the_count_is_e032_at_the_count(tmp_path: Path) -> None:
    path = tmp_path / "bad.choreo"
    path.write_text(UNKNOWN_TO_B)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    err = result.output
    assert f"{path}:4:16: error[E032]: the count of this loop reads `n`, which `B`" in err
    assert "`n` travels in `Start` at line 3 (A -> C)" in err
    assert "help: send `n` to `B` before the loop, e.g. `A -> B: N(n: u32)`" in err
    assert "I001" not in err


def test_a_count_every_loop_role_knows_is_no_parameter() -> None:
    assert codes(EVERY_ROLE_KNOWS) == []
    (chor,) = parse_source(EVERY_ROLE_KNOWS, "t.choreo").file.choreographies
    assert check_choreography(chor).params == ()


def test_a_count_bound_by_let_from_known_fields_is_accepted() -> None:
    source = """choreography Let {
      roles: A, B
      A -> B: Start(n: u32);
      let twice = n * 2;
      loop (count: twice) { A -> B: Ping; }
    }
    """
    assert codes(source) == []


def test_a_name_sent_only_after_the_loop_is_still_a_parameter() -> None:
    source = """choreography Later {
      roles: A, B
      loop (count: n) { A -> B: Ping; }
      A -> B: Done(n: u32);
    }
    """
    assert codes(source) == ["I001"]


def test_validate_finds_no_deadlock_for_a_received_count(tmp_path: Path) -> None:
    path = tmp_path / "good.choreo"
    path.write_text(EVERY_ROLE_KNOWS)
    result = CliRunner().invoke(cli, ["validate", "--strict", str(path)])
    assert result.exit_code == 0, result.output
    assert "ok: 1 choreography" in result.output


@pytest.mark.parametrize("n", [0, 2, 5])
def test_the_sent_value_decides_the_number_of_iterations(n: int) -> None:
    protocol = choreography(EVERY_ROLE_KNOWS)

    class Sender:
        def Start(self, env: dict[str, object]) -> dict[str, object]:
            return {"n": n}

        def Start2(self, env: dict[str, object]) -> dict[str, object]:
            return {"n": env["n"]}

    result = run_simulation(protocol, seed=3, roles={"A": Sender()})
    assert result.ok, result
    sends = [e for e in result.trace.events if e.kind == "send"]
    assert sum(1 for e in sends if e.label == "Ping") == n
    assert sum(1 for e in sends if e.label == "Pong") == n


def test_the_budget_of_a_loop_over_a_received_count_stays_symbolic() -> None:
    budget = role_budget(choreography(EVERY_ROLE_KNOWS).local_types()["A"])
    flow = budget.peers["B"].flow.to_json()
    assert isinstance(flow, str) and "n" in flow, flow


FOR_OVER_A_FIELD = """choreography ForField {
  roles: A, B
  A -> B: Start(n: u32);
  for i in 0..n { A -> B: Ping; }
}
"""


@pytest.mark.parametrize("n", [2, 5])
def test_a_for_loop_bounded_by_a_received_field_runs_that_often(n: int) -> None:
    assert codes(FOR_OVER_A_FIELD) == []

    class Sender:
        def Start(self, env: dict[str, object]) -> dict[str, object]:
            return {"n": n}

    result = run_simulation(choreography(FOR_OVER_A_FIELD), seed=1, roles={"A": Sender()})
    assert result.ok, result
    assert sum(1 for e in result.trace.events if e.kind == "send" and e.label == "Ping") == n


def test_a_for_loop_bounded_by_a_field_a_loop_role_lacks_is_e032() -> None:
    source = """choreography ForBad {
      roles: A, B, C
      A -> C: Start(n: u32);
      for i in 0..n { A -> B: Ping; }
    }
    """
    assert codes(source) == ["E032"]
