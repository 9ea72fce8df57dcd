"""A session every run of which must exceed a flow budget is refused at its start, by every process,
before anything is sent (as a missing capability is, SPEC §5.2); one that only some runs exceed starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from deploy_cluster import device_of, make_cluster

from aura_choreo.deployment import plan_deployment
from aura_choreo.deployment.preflight import refuse_certain_overspend
from aura_choreo.deployment.run import guard_extension_for
from aura_choreo.errors import BudgetExhausted
from aura_choreo.guards import load_policy
from aura_choreo.protocol import Protocol, choreography, load
from aura_choreo.transports.net.identity import load_identity, write_key_file

ROUNDS = "for r in 0..3 {{ A[flow_cost = 400] -> B: Plan\n B -> A: Ack }}"
"""3 x 400 = 1200 from A to B on every run: over the default limit 1024."""


def protocol_of(body: str) -> Protocol:
    return choreography("protocol P {\n  roles: A, B\n" + body + "\n}\n")


def refusal(
    tmp_path: Path, protocol: Protocol, *policy_lines: str, device_a: tuple[str, ...] = ()
) -> BudgetExhausted | None:
    """What A's process decides at session start under a policy with these extra lines (and these in
    device dev-a's table)."""
    lines = [*policy_lines, "[roles]", 'A = "dev-a"', 'B = "dev-b"']
    for device, port in (("dev-a", 1), ("dev-b", 2)):
        _, public = write_key_file(device, tmp_path / "keys")
        lines += [f'[devices."{device}"]', f'public_key = "{public}"', f'address = "tcp://127.0.0.1:{port}"']
        lines += device_a if device == "dev-a" else ()
    (tmp_path / "policy.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    policy = load_policy(tmp_path / "policy.toml")
    deployment = plan_deployment(protocol, policy, load_identity(tmp_path / "keys" / "dev-a.key"), "A")
    try:
        refuse_certain_overspend(deployment, guard_extension_for(deployment))
    except BudgetExhausted as exc:
        return exc
    return None


def test_a_budget_every_run_exceeds_is_refused_naming_role_device_and_numbers(tmp_path: Path) -> None:
    refused = refusal(tmp_path, protocol_of(ROUNDS.format()))
    assert refused is not None
    assert (refused.role, refused.step) == ("A", "session start")
    assert "at least 1200" in str(refused) and "dev-b" in str(refused) and "limit 1024" in str(refused)


@pytest.mark.parametrize(
    "body",
    [
        # a behaviour may take the cheap branch
        "choice A { big: { for r in 0..3 { A[flow_cost = 400] -> B: Big } } small: { A -> B: Small } }",
        # a denial inside a saga is handled by the protocol (SPEC §4.6)
        "try { for r in 0..3 { A[flow_cost = 400] -> B: Plan } } compensate { A -> B: Undo }",
        # a decided loop may stop before the budget runs out
        "loop (decides: A) { A[flow_cost = 400] -> B: Plan }",
    ],
)
def test_a_budget_only_some_runs_exceed_is_left_to_the_guard_chain(tmp_path: Path, body: str) -> None:
    assert refusal(tmp_path, protocol_of(body)) is None


def test_the_policy_limits_and_message_guards_decide(tmp_path: Path) -> None:
    protocol = protocol_of(ROUNDS.format())
    assert refusal(tmp_path / "1", protocol, "[defaults]", "flow_limit = 1200") is None
    assert refusal(tmp_path / "2", protocol, "[message_guards.Plan]", "flow_cost = 1") is None
    cheap = protocol_of("for r in 0..3 { A -> B: Plan\n B -> A: Ack }")
    assert refusal(tmp_path / "3", cheap, "[message_guards.Plan]", "flow_cost = 400") is not None
    assert refusal(tmp_path / "4", cheap, device_a=("peer_flow_limits = { B = 2 }",)) is not None


def test_a_policy_whose_epochs_rotate_refuses_nothing(tmp_path: Path) -> None:
    # a rotation mid-session resets the budget: exceeding it is no longer certain
    assert refusal(tmp_path, protocol_of(ROUNDS.format()), "[defaults]", "epoch_seconds = 60") is None


def test_every_process_refuses_at_session_start_and_nobody_sends(tmp_path: Path) -> None:
    file = tmp_path / "rounds.choreo"
    file.write_text("protocol Rounds {\n  roles: A, B\n" + ROUNDS.format() + "\n}\n", encoding="utf-8")
    cluster = make_cluster(tmp_path, load(file).roles)
    results = cluster.run(file)
    for role, result in results.items():
        assert result.code == 1, result.stderr
        document = result.document
        error = document["error"]
        assert isinstance(error, dict), document
        assert error["error"] == "BudgetExhausted" and error["step"] == "session start", error
        assert error["role"] == "A" and device_of("B") in error["message"], error
        assert document["trace"] == [], role
        assert "Traceback" not in result.stderr
