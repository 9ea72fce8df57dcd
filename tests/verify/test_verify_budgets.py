"""Worst-case budgets, manifests and limits (SPEC §4.4)."""

from __future__ import annotations

from pathlib import Path

from verify_replay import lt

from aura_choreo.guards.policy_file import load_policy
from aura_choreo.guards.policy_limits import limits_from_policy
from aura_choreo.projection.local_types import Branch, Choose, Continue, Loop, Par, Rec, Send
from aura_choreo.protocol import choreography
from aura_choreo.syntax.ast import Literal, Name
from aura_choreo.verify import BudgetLimits, FindingKind, role_budget, role_manifest, verify_protocol
from aura_choreo.verify.limits import check_limits

BUDGETED = """protocol Budgeted { roles: Sender, Receiver;
    Sender[flow_cost = 200, leakage_budget = [1, 2, 3]] -> Receiver: High;
    Receiver[flow_cost = 50] -> Sender: Low;
    Sender[guard_capability = "send_data, sign"] -> Receiver: Default;
    Sender -> Receiver: Plain;
}"""


def _flow(local_type, peer):  # type: ignore[no-untyped-def]
    return role_budget(local_type).peers[peer].flow.to_json()


def test_flow_cost_defaults_are_100_when_annotated_and_1_when_not() -> None:
    local_types = choreography(BUDGETED).local_types()
    assert _flow(local_types["Sender"], "Receiver") == 200 + 100 + 1
    assert _flow(local_types["Receiver"], "Sender") == 50


def test_leakage_sums_per_observer_class() -> None:
    budget = role_budget(choreography(BUDGETED).local_types()["Sender"]).peers["Receiver"]
    assert [c.to_json() for c in budget.leakage] == [1, 2, 3]


def test_manifest_is_the_union_of_guard_capabilities() -> None:
    local_types = choreography(BUDGETED).local_types()
    assert role_manifest(local_types["Sender"]) == ("send_data", "sign")
    assert role_manifest(local_types["Receiver"]) == ()


def test_branches_take_the_worst_and_parallel_adds() -> None:
    cheap, dear = (Send("B", "X", annotations=(("flow_cost", c),)) for c in (5, 9))
    assert _flow(lt("A", Choose((Branch("a", (cheap,)), Branch("b", (dear,))))), "B") == 9
    assert _flow(lt("A", Par(((cheap,), (dear,)))), "B") == 14


def test_counted_loops_multiply_symbolically_and_rec_is_unbounded() -> None:
    send = Send("B", "Bid", annotations=(("flow_cost", 300),))
    assert _flow(lt("A", Loop(Literal(5), (send,))), "B") == 1500
    assert _flow(lt("A", Loop(Name("rounds"), (send,))), "B") == "rounds*300"
    assert _flow(lt("A", Rec("L", (send, Continue("L")))), "B") == "unbounded"
    assert _flow(lt("A", Rec("L", (send,))), "B") == 300, "a rec that never continues runs once"


def test_flow_limit_exceeded_is_an_error_and_symbolic_is_a_warning() -> None:
    local_types = choreography(BUDGETED).local_types()
    report = verify_protocol(local_types, limits=BudgetLimits(flow_limit=250))
    over = report.of_kind(FindingKind.BUDGET_EXCEEDED)
    assert [f.code for f in over] == ["E104"]
    assert "Sender -> Receiver is 301, over the limit 250" in over[0].message
    looped = lt("A", Rec("L", (Send("B", "X"), Continue("L"))))
    unproven = check_limits({"A": role_budget(looped)}, {}, BudgetLimits(flow_limit=10))
    assert [f.kind for f in unproven] == [FindingKind.BUDGET_UNPROVEN]


def test_policy_file_limits_and_capabilities(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        """
        [defaults]
        flow_limit = 1000
        [devices.phone]
        capabilities = ["send_data"]
        peer_flow_limits = { Receiver = 120 }
        leakage_limits = [0, 10, 10]
        [roles]
        Sender = "phone"
        """,
        encoding="utf-8",
    )
    local_types = choreography(BUDGETED).local_types()
    limits = limits_from_policy(load_policy(policy), list(local_types))
    report = verify_protocol(local_types, limits=limits)
    messages = [f.message for f in report.of_kind(FindingKind.BUDGET_EXCEEDED)]
    assert any("Sender -> Receiver is 301, over the limit 120" in m for m in messages)
    assert any("external leakage of Sender is 1, over the limit 0" in m for m in messages)
    assert any("`sign`" in m and "Sender" in m for m in messages)
    assert not any("Receiver ->" in m for m in messages), "the receiver's device gets the default 1000"
