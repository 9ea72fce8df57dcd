"""Full merge (SPEC §3.3) on hand-built projections."""

from __future__ import annotations

from aura_choreo.projection.local_types import Branch, Offer, PayloadItem, Recv, Send
from aura_choreo.projection.merge import merge


def test_equal_projections_merge_to_themselves() -> None:
    same = (Recv("A", "X"), Send("A", "Y"))
    assert merge([same, same]) == same


def test_distinct_first_labels_from_one_sender_become_an_offer() -> None:
    merged = merge([(Recv("A", "X"), Send("A", "Ok")), (Recv("A", "Y"),)], "pick")
    assert merged == (Offer("A", (Branch("X", (Send("A", "Ok"),)), Branch("Y", ())), "pick"),)


def test_equal_labels_merge_their_continuations() -> None:
    merged = merge([(Recv("A", "X"), Recv("A", "P")), (Recv("A", "X"), Recv("A", "Q"))])
    assert merged == (Recv("A", "X"), Offer("A", (Branch("P", ()), Branch("Q", ()))))


def test_offers_from_the_same_sender_merge_label_wise() -> None:
    inner = (Offer("A", (Branch("X", ()), Branch("Y", ()))), Send("A", "Done"))
    merged = merge([inner, (Recv("A", "Z"),)])
    assert merged == (
        Offer("A", (Branch("X", (Send("A", "Done"),)), Branch("Y", (Send("A", "Done"),)), Branch("Z", ()))),
    )


def test_different_senders_do_not_merge() -> None:
    assert merge([(Recv("A", "X"),), (Recv("B", "Y"),)]) is None


def test_a_branch_that_does_not_start_with_a_receive_does_not_merge() -> None:
    assert merge([(Recv("A", "X"),), ()]) is None
    assert merge([(Recv("A", "X"),), (Send("A", "Y"),)]) is None


def test_same_label_with_unmergeable_continuations_does_not_merge() -> None:
    assert merge([(Recv("A", "X"), Send("A", "P")), (Recv("A", "X"), Send("A", "Q"))]) is None


def test_same_label_with_different_payloads_does_not_merge() -> None:
    one = (Recv("A", "X", (PayloadItem("n", None),)), Send("A", "P"))
    other = (Recv("A", "X", (PayloadItem("m", None),)), Send("A", "Q"))
    assert merge([one, other]) is None


def test_project_role_is_available_from_the_package() -> None:
    from aura_choreo import projection
    from aura_choreo.semantics import check_choreography
    from aura_choreo.syntax import parse

    choreography = parse("choreography P { roles: A, B\n A -> B: Go }").choreographies[0]
    local = projection.project_role(check_choreography(choreography), "B")
    assert (local.protocol, local.role, local.steps, local.roles) == (
        "P",
        "B",
        (Recv("A", "Go"),),
        ("A", "B"),
    )
    from aura_choreo.projection.render_text import render_text

    assert render_text(local) == "B in P:\n  A ? Go\n  end\n"
    assert projection.to_json(local)["type"] == [
        {"op": "recv", "from": "A", "label": "Go", "payload": [], "annotations": {}}
    ]


def test_project_role_of_an_unknown_role_names_the_roles() -> None:
    import pytest

    from aura_choreo.projection.project import UnknownRole, project_role
    from aura_choreo.semantics import check_choreography
    from aura_choreo.syntax import parse

    checked = check_choreography(parse("choreography P { roles: A, B\n A -> B: Go }").choreographies[0])
    with pytest.raises(UnknownRole, match=r"roles: A, B"):
        project_role(checked, "C")
