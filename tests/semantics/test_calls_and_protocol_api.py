"""Sub-protocols across imports, role substitution, and the `Protocol` / `load` / `choreography` API."""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_choreo import ChoreographyError, Protocol, choreography, load, load_all
from aura_choreo.projection import local_types as lt
from aura_choreo.projection.project import UnknownRole

LIBRARY = """
choreography Handshake {
    roles: Client, Server
    Client -> Server: Hello
    Server -> Client: Welcome
}

choreography Vote {
    roles: Chair, Members[N]
    Chair -> Members[*]: Ballot
    Members[i] -> Chair: Cast
}
"""

MAIN = """
import "lib/library.choreo"

choreography Main {
    roles: Boss, Clerk, Workers[2]
    compose Handshake(Clerk, Boss)
    call Vote(Boss, Workers)
    Boss -> Clerk: Done
}

choreography Other {
    roles: X, Y
    call Handshake
    X -> Y: Bye
}
"""


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "library.choreo").write_text(LIBRARY)
    (tmp_path / "main.choreo").write_text(MAIN)
    return tmp_path


def test_compose_across_an_import_substitutes_roles(project_dir: Path) -> None:
    main = load(project_dir / "main.choreo", "Main")
    assert main.roles == ("Boss", "Clerk", "Workers[0]", "Workers[1]")
    assert main.local_type("Clerk").steps == (
        lt.Send("Boss", "Hello"),
        lt.Recv("Boss", "Welcome"),
        lt.Recv("Boss", "Done"),
    )


def test_a_family_passed_to_a_callee_keeps_its_instances(project_dir: Path) -> None:
    boss = load(project_dir / "main.choreo", "Main").local_type("Boss").steps
    assert boss[2:4] == (lt.Send("Workers[0]", "Ballot"), lt.Send("Workers[1]", "Ballot"))
    assert boss[4] == lt.Par(((lt.Recv("Workers[0]", "Cast"),), (lt.Recv("Workers[1]", "Cast"),)))


def test_call_without_arguments_uses_the_callee_role_names(project_dir: Path) -> None:
    (project_dir / "lib" / "library.choreo").write_text(LIBRARY.replace("Client", "X").replace("Server", "Y"))
    other = load(project_dir / "main.choreo", "Other")
    assert other.local_type("X").steps == (
        lt.Send("Y", "Hello"),
        lt.Recv("Y", "Welcome"),
        lt.Send("Y", "Bye"),
    )


def test_call_without_arguments_and_unknown_roles_is_e022(project_dir: Path) -> None:
    with pytest.raises(ChoreographyError) as caught:
        load(project_dir / "main.choreo", "Other")
    assert {d.code for d in caught.value.diagnostics if d.is_error} == {"E022"}
    assert "`Client`" in caught.value.diagnostics[0].message


def test_load_all_returns_the_root_file_choreographies_only(project_dir: Path) -> None:
    (project_dir / "lib" / "library.choreo").write_text(LIBRARY.replace("Client", "X").replace("Server", "Y"))
    protocols = load_all(project_dir / "main.choreo")
    assert list(protocols) == ["Main", "Other"]
    assert all(isinstance(p, Protocol) for p in protocols.values())


def test_load_without_a_name_lists_the_choices(project_dir: Path) -> None:
    with pytest.raises(ChoreographyError) as caught:
        load(project_dir / "main.choreo")
    assert "Main, Other" in str(caught.value)


def test_load_with_an_unknown_name_suggests_one(project_dir: Path) -> None:
    with pytest.raises(ChoreographyError) as caught:
        load(project_dir / "main.choreo", "Mian")
    assert caught.value.diagnostics[0].hints == ("did you mean `Main`?",)


def test_an_undefined_callee_across_the_import_is_e020(project_dir: Path) -> None:
    (project_dir / "main.choreo").write_text(
        MAIN.replace("compose Handshake(Clerk, Boss)", "compose Handshak(Clerk, Boss)")
    )
    with pytest.raises(ChoreographyError) as caught:
        load(project_dir / "main.choreo", "Main")
    [e020] = [d for d in caught.value.diagnostics if d.code == "E020"]
    assert e020.hints == ("did you mean `Handshake`?",)
    assert "compose Handshak" in caught.value.render()  # rendered with its source line


def test_bind_returns_a_new_protocol_and_keeps_the_old_one() -> None:
    protocol = choreography("choreography P { roles: L, F[N]\n L -> F[*]: Go }")
    bigger = protocol.bind(N=4)
    assert bigger is not protocol
    assert len(bigger.roles) == 5 and len(protocol.roles) == 4
    assert bigger.params == {"N": 4} and protocol.params == {"N": 3}
    assert bigger.bind(N=2).roles == ("L", "F[0]", "F[1]")


def test_bind_rejects_unknown_and_non_integer_parameters() -> None:
    protocol = choreography("choreography P { roles: L, F[N]\n L -> F[*]: Go }")
    with pytest.raises(ChoreographyError, match="no parameter `M`"):
        protocol.bind(M=2)
    with pytest.raises(ChoreographyError, match="must be an integer"):
        protocol.bind(N="2")  # type: ignore[arg-type]


def test_bind_over_the_family_limit_is_an_error() -> None:
    protocol = choreography("choreography P { roles: L, F[N]\n L -> F[0]: Go }")
    with pytest.raises(ChoreographyError, match=r"outside 0\.\.10000"):
        protocol.bind(N=10_001)


def test_local_type_of_an_unknown_role_suggests_one() -> None:
    protocol = choreography("choreography P { roles: Leader, Follower\n Leader -> Follower: Go }")
    with pytest.raises(UnknownRole, match="did you mean `Leader`"):
        protocol.local_type("Leadr")


def test_choreography_reports_every_error_with_its_source() -> None:
    text = "choreography P {\n roles: A, B\n A -> A: X\n choice B { }\n}\n"
    with pytest.raises(ChoreographyError) as caught:
        choreography(text, filename="p.choreo")
    assert [d.code for d in caught.value.diagnostics] == ["E012", "E030"]
    assert "A -> A: X" in caught.value.render()


def test_protocol_exposes_names_and_local_types() -> None:
    protocol = choreography('#[namespace = "shop"]\nchoreography Buy { roles: A, B\n A -> B: Order }')
    assert (protocol.name, protocol.qualified_name) == ("Buy", "shop.Buy")
    types = protocol.local_types()
    assert list(types) == ["A", "B"]
    assert types["B"].protocol == "shop.Buy" and types["B"].roles == ("A", "B")
    assert protocol.checked.qualified_name == "shop.Buy"


def test_session_delegates_to_the_runtime() -> None:
    pytest.importorskip("aura_choreo.runtime.session")
    protocol = choreography("choreography P { roles: A, B\n A -> B: Go }")
    session = protocol.session()
    assert session is not None and type(session).__name__ == "Session"
