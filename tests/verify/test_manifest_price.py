"""A role's manifest holds every capability its sends will be checked for, read as the sends are
priced (fix8's note: under a policy whose message guard requires a capability of an unannotated
message, `validate --policy` listed an empty manifest and said ok, while the run was refused at that
send, mid-session, instead of at session start as SPEC §5.2 has it)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from aura_choreo import choreography
from aura_choreo.cli.main import cli
from aura_choreo.projection.local_types import Send
from aura_choreo.verify import role_manifest, verify_protocol
from aura_choreo.verify.budgets import SendCost, price_by_annotations
from aura_choreo.verify.limits import BudgetLimits, RoleLimits

PING = "choreography P {\n  roles: A, B\n  A -> B: Ping\n  A[guard_capability = \"talk\"] -> B: Hello\n}\n"


def guarded_ping(send: Send) -> SendCost:
    """A price as a policy with `[message_guards.Ping] guard_capability = "send:ping"` makes it."""
    if send.label == "Ping":
        return SendCost(1, capabilities=("send:ping",))
    return price_by_annotations(send)


def test_the_manifest_is_read_through_the_price_and_by_annotations_by_default() -> None:
    local = choreography(PING).local_type("A")
    assert role_manifest(local) == ("talk",)
    assert role_manifest(local, guarded_ping) == ("send:ping", "talk")


def test_verification_checks_the_manifest_its_limits_price_against_the_capabilities_held() -> None:
    local_types = choreography(PING).local_types()
    held = {"A": RoleLimits(capabilities=frozenset({"talk"})), "B": RoleLimits(capabilities=frozenset())}
    report = verify_protocol(local_types, limits=BudgetLimits(None, held, price=guarded_ping))
    assert report.manifests["A"] == ("send:ping", "talk")
    assert [f.code for f in report.findings] == ["E104"] and "`send:ping`" in report.findings[0].message


def test_validate_policy_lists_and_checks_a_message_guards_capability(tmp_path: Path) -> None:
    protocol, policy = tmp_path / "p.choreo", tmp_path / "policy.toml"
    protocol.write_text(PING, encoding="utf-8")
    policy.write_text(
        '[devices.A]\ncapabilities = ["talk"]\n[message_guards.Ping]\nguard_capability = "send:ping"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["validate", str(protocol), "--policy", str(policy)])
    assert result.exit_code == 1, result.output
    assert "error[E104]" in result.stderr and "`send:ping`" in result.stderr
