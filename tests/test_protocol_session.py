"""`Protocol.session`: typed options, sizes bound at session start, E014 for a size nobody bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_choreo import ChoreographyError, choreography
from aura_choreo.runtime.runner import run_session
from aura_choreo.runtime.session import Session
from aura_choreo.transports.inmemory import InMemoryTransport

SIGNING = """protocol Signing {
  roles: Coordinator, Signers[*];
  Coordinator -> Signers[*]: Request;
  Signers[*] -> Coordinator: Share;
}"""


def test_an_unbound_family_size_is_e014_at_session_start_not_a_silent_3() -> None:
    protocol = choreography(SIGNING)
    assert protocol.unbound_parameters() == ("Signers",)
    assert len(protocol.roles) == 4  # analysis used 3 Signers (I001), which is fine for checking
    with pytest.raises(ChoreographyError) as caught:
        protocol.session()
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "E014" and "at session start" in diagnostic.message
    assert "`protocol.session(Signers=K)`" in diagnostic.hints[0]
    assert (diagnostic.span.line, diagnostic.span.column) == (2, 23)


async def test_session_binds_family_sizes_given_as_keywords() -> None:
    session = choreography(SIGNING).session(Signers=4, peer_timeout=5)
    assert isinstance(session, Session)
    assert session.roles == ("Coordinator", "Signers[0]", "Signers[1]", "Signers[2]", "Signers[3]")
    await run_session(session, InMemoryTransport(), seed=0)
    assert len(session.trace.of_kind("recv")) == 8


def test_sizes_bound_by_bind_or_at_load_need_nothing_more() -> None:
    assert len(choreography(SIGNING).bind(Signers=2).session().roles) == 3
    assert len(choreography(SIGNING, params={"Signers": 5}).session().roles) == 6


def test_session_rejects_a_size_the_protocol_does_not_have() -> None:
    with pytest.raises(ChoreographyError, match="no parameter `Signer`"):
        choreography(SIGNING).session(Signer=4)


def test_peer_timeout_defaults_to_the_runtime_default_and_can_be_switched_off() -> None:
    from aura_choreo.runtime.session import DEFAULT_PEER_TIMEOUT

    protocol = choreography(SIGNING, params={"Signers": 1})
    assert protocol.session().peer_timeout == DEFAULT_PEER_TIMEOUT
    assert protocol.session(peer_timeout=None).peer_timeout is None


def test_run_refuses_an_unbound_family_size_before_reading_keys(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from aura_choreo.cli.main import cli

    path = tmp_path / "signing.choreo"
    path.write_text(SIGNING, encoding="utf-8")
    missing = str(tmp_path / "missing")
    result = CliRunner().invoke(
        cli, ["run", str(path), "--role", "Coordinator", "--policy", missing, "--key", missing]
    )
    assert result.exit_code == 1
    assert "error[E014]" in result.output and "`--param Signers=K`" in result.output
