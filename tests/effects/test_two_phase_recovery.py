"""Sequential composition across sessions (SPEC §5.8): the recovery session's choice reads the approval
fact an earlier session committed, in simulation and across processes (examples/two_phase_recovery)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aura_choreo.errors import AuraChoreoError
from aura_choreo.guards import parse_policy
from aura_choreo.projection.local_types import Choose, Offer
from aura_choreo.protocol import choreography, load_all
from aura_choreo.runtime.expressions import ExpressionError, evaluate
from aura_choreo.syntax.ast import Call, Literal
from aura_choreo.testing.pytest_plugin import ChoreoSim

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FILE = EXAMPLES / "two_phase_recovery.choreo"
DEPLOYMENT = Path(__file__).resolve().parents[1] / "deployment"


def phases() -> tuple[object, object]:
    protocols = load_all(FILE)
    return protocols["examples.Approval"], protocols["examples.Recovery"]


def answer(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        e.label for r in report.runs for e in r.trace.events if e.kind == "send" and e.sender == "Custodian"
    ]


def test_in_simulation_recovery_restores_only_after_an_approval_session(tmp_path: Path) -> None:
    approval, recovery = phases()
    sim = ChoreoSim(EXAMPLES)
    policy = parse_policy({"journal": str(tmp_path / "journal.db")})
    fresh = parse_policy({"journal": str(tmp_path / "other.db")})
    sim.assert_ok(before := sim.run(recovery, policy=fresh, runs=3))  # type: ignore[arg-type]
    assert answer(before) == ["Refuse"] * 3
    sim.assert_ok(sim.run(approval, policy=policy))  # type: ignore[arg-type]
    after = sim.run(recovery, policy=policy, runs=3)  # type: ignore[arg-type]
    sim.assert_ok(after)
    assert answer(after) == ["Restore"] * 3


def test_the_example_script_runs_both_phases() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "two_phase_recovery.py")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "after an approval session: Restore; without one: Refuse" in done.stdout


def test_across_processes_the_custodians_journal_carries_the_approval_to_the_recovery(tmp_path: Path) -> None:
    sys.path.insert(0, str(DEPLOYMENT))
    try:
        from deploy_cluster import make_cluster
    finally:
        sys.path.remove(str(DEPLOYMENT))
    cluster = make_cluster(tmp_path, ("Custodian", "Approver", "Owner"), header=['journal = "{device}.db"'])

    def run(protocol: str, roles: tuple[str, ...]) -> dict[str, str]:
        results = cluster.run(FILE, extra={r: ("--protocol", protocol) for r in roles}, only=roles)
        for role, result in results.items():
            assert result.code == 0, f"{protocol} {role}: {result.stderr}"
        return {
            role: ",".join(str(e["label"]) for e in result.document["trace"] if e["kind"] == "send")  # type: ignore[attr-defined, index]
            for role, result in results.items()
        }

    assert run("Recovery", ("Owner", "Custodian"))["Custodian"] == "Refuse"  # no approval yet
    assert run("Approval", ("Custodian", "Approver"))["Approver"] == "Approved"
    assert (tmp_path / "dev-custodian.db").exists()
    # A new session of a new process: the custodian's journal file holds the approval it merged.
    cluster_policy = cluster.policy.read_text(encoding="utf-8")
    cluster.policy.write_text(cluster_policy + "\n", encoding="utf-8")  # another deployment: a new session id
    assert run("Recovery", ("Owner", "Custodian"))["Custodian"] == "Restore"


def test_a_condition_reading_the_journal_is_decided_by_one_role_not_shared() -> None:
    protocol = choreography(
        """
        choreography Gate {
            roles: A, B;
            A -> B: Ask(n: i64);
            if (len(journal_facts("ok")) > 0) { B -> A: Yes(n: i64); } else { B -> A: No(n: i64); }
        }
        """
    )
    local = protocol.local_types()
    assert isinstance(local["A"].steps[1], Offer)  # A learns B's decision from B's message
    assert isinstance(local["B"].steps[1], Choose)  # B decides, from its own journal


def test_journal_facts_outside_a_deciding_role_is_a_typed_error_naming_the_fix() -> None:
    call = Call("journal_facts", (Literal("approved"),))
    with pytest.raises(ExpressionError, match="only known to a role deciding a choice"):
        evaluate(call, {})
    with pytest.raises(AuraChoreoError, match="one fact name in quotes"):
        evaluate(Call("journal_facts", ()), {})


GATE = """
choreography Gate {
    roles: Owner, Custodian;
    Owner -> Custodian: Ask(ticket: i64);
    choice Custodian {
        restore when (len(journal_facts("ok")) > 0): { Custodian -> Owner: Restore(s: String); }
        refuse when (len(journal_facts("ok")) == 0): { Custodian -> Owner: Refuse(s: String); }
    }
}
"""


def _approved_stack(approved: bool):  # type: ignore[no-untyped-def]
    from aura_choreo.execution import build_stack

    stack = build_stack(choreography(GATE), parse_policy({}), "testing")
    parts = stack.parts()
    assert parts.guards is not None
    if approved:
        journal = parts.guards.chain.device("Custodian").journal
        journal.commit(
            journal.reserve(
                ["ok"],
                protocol="examples.Approval",
                session="s0",
                role="Approver",
                label="Approved",
            )
        )
    return stack, parts


@pytest.mark.parametrize(("approved", "label"), [(True, "Restore"), (False, "Refuse")])
async def test_a_when_guard_reading_the_journal_decides_the_default_behaviours_branch(
    approved: bool, label: str
) -> None:
    stack, parts = _approved_stack(approved)
    for seed in range(5):  # every seed: only the branch whose guard holds is ever taken
        session = stack.session(parts)
        from aura_choreo.runtime.runner import run_session

        await run_session(session, stack.transport(), seed=seed)
        assert [e.label for e in session.trace.events if e.kind == "send"] == ["Ask", label]


async def test_imperative_code_choosing_against_the_journal_is_a_protocol_violation() -> None:
    from aura_choreo.errors import ProtocolViolation
    from aura_choreo.runtime.endpoint import Endpoint

    stack, parts = _approved_stack(False)

    async def owner(ep: Endpoint) -> None:
        await ep.send("Custodian", ep.message("Ask", ticket=1))
        await ep.offer("Custodian")

    async def custodian(ep: Endpoint) -> None:
        await ep.recv("Owner")
        await ep.choose("restore")  # no approval in this device's journal

    with pytest.raises(ProtocolViolation, match="restore, whose guard"):
        await stack.run_session({"Owner": owner, "Custodian": custodian}, parts=parts)
