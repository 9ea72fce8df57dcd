"""Asynchronous subtyping: may a hand-written machine replace a role's projection?"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli
from aura_choreo.protocol import choreography
from aura_choreo.verify import FindingKind, check_subtype, parse_dot, to_dot

HANDSHAKE = """protocol Handshake { roles: Client, Server;
    Client -> Server: Hello; Server -> Client: Welcome; Client -> Server: Data; Server -> Client: Ack; }"""

DECIDE = """protocol Decide { roles: A, B, C;
    choice A {
        yes: { A -> B: Yes; B -> C: Commit; A -> C: Confirm; C -> A: Committed; }
        no:  { A -> B: No;  B -> C: Abort;  C -> A: Aborted; }
    }
}"""


def _machine(*edges: str, role: str = "X") -> str:
    lines = [f'  s{i} -> s{i + 1} [label="{label}"];' for i, label in enumerate(edges)]
    return "digraph " + role + " {\n" + "\n".join(lines) + "\n}"


def test_the_projection_itself_is_accepted() -> None:
    local_types = choreography(DECIDE).local_types()
    for role, local_type in local_types.items():
        assert check_subtype(parse_dot(to_dot(local_type)), local_types, role).accepted


def test_early_send_is_accepted_where_safe() -> None:
    local_types = choreography(HANDSHAKE).local_types()
    impl = parse_dot(_machine("Client!Welcome", "Client?Hello", "Client?Data", "Client!Ack"))
    result = check_subtype(impl, local_types, "Server")
    assert result.accepted, result.explain()
    assert "accepted" in result.explain()


def test_early_send_is_rejected_where_it_deadlocks() -> None:
    local_types = choreography(DECIDE).local_types()
    # B commits before it knows A's decision: if A says no, A and C wait for each other forever.
    impl = parse_dot("""digraph B {
        s0 -> s1 [label="C!Commit"];
        s1 -> s2 [label="A?Yes"];
        s1 -> s2 [label="A?No"];
    }""")
    result = check_subtype(impl, local_types, "B")
    assert not result.accepted
    deadlock = [f for f in result.findings if f.kind is FindingKind.DEADLOCK]
    assert deadlock, result.explain()
    assert "A waits for C?Aborted" in deadlock[0].message and "C waits for A?Confirm" in deadlock[0].message
    assert [s.text() for s in deadlock[0].steps] == [
        "A sends No to B",
        "B sends Commit to C",
        "B receives No from A",
        "C receives Commit from B",
    ]
    assert "deadlock" in result.explain()


def test_receiving_before_sending_what_the_peer_waits_for_is_rejected() -> None:
    local_types = choreography(HANDSHAKE).local_types()
    impl = parse_dot(_machine("Client?Hello", "Client?Data", "Client!Welcome", "Client!Ack"))
    result = check_subtype(impl, local_types, "Server")
    assert not result.accepted
    assert "Client waits for Server?Welcome" in result.explain()


def test_a_dropped_choose_branch_is_accepted() -> None:
    local_types = choreography(DECIDE).local_types()
    impl = parse_dot(_machine("B!Yes", "C!Confirm", "C?Committed"))
    result = check_subtype(impl, local_types, "A")
    assert result.accepted, result.explain()


def test_a_missing_offer_branch_is_rejected() -> None:
    local_types = choreography(DECIDE).local_types()
    impl = parse_dot(_machine("B?Commit", "A?Confirm", "A!Committed"))
    result = check_subtype(impl, local_types, "C")
    assert not result.accepted
    kinds = {f.kind for f in result.findings}
    assert FindingKind.UNSPECIFIED_RECEPTION in kinds
    assert "C receives `Abort` from B but can only take Commit" in result.explain()


def test_sending_a_message_the_projection_never_sends_is_explained() -> None:
    local_types = choreography(HANDSHAKE).local_types()
    impl = parse_dot(
        _machine("Client?Hello", "Client!Welcome", "Client!Surprise", "Client?Data", "Client!Ack")
    )
    result = check_subtype(impl, local_types, "Server")
    assert not result.accepted
    assert any("never sends" in r and "Surprise" in r for r in result.reasons)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "hs.choreo").write_text(HANDSHAKE, encoding="utf-8")
    (tmp_path / "early.dot").write_text(
        _machine("Client!Welcome", "Client?Hello", "Client?Data", "Client!Ack"), encoding="utf-8"
    )
    (tmp_path / "late.dot").write_text(
        _machine("Client?Hello", "Client?Data", "Client!Welcome", "Client!Ack"), encoding="utf-8"
    )
    return tmp_path


def test_cli_subtype_exit_codes_and_json(files: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(
        cli, ["subtype", str(files / "early.dot"), "--against", str(files / "hs.choreo"), "--role", "Server"]
    )
    assert ok.exit_code == 0 and "accepted" in ok.output
    bad = runner.invoke(
        cli,
        [
            "subtype",
            str(files / "late.dot"),
            "--against",
            str(files / "hs.choreo"),
            "--role",
            "Server",
            "--json",
        ],
    )
    assert bad.exit_code == 1
    assert '"accepted": false' in bad.output and '"counterexample"' in bad.output
    usage = runner.invoke(
        cli, ["subtype", str(files / "late.dot"), "--against", str(files / "hs.choreo"), "--role", "Sever"]
    )
    assert usage.exit_code == 2 and "did you mean `Server`?" in usage.output
