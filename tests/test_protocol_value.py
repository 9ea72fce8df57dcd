"""`Protocol`'s public accessor for what it was loaded from, and the canonical protocol hash."""

from __future__ import annotations

from aura_choreo import choreography
from aura_choreo.protocol_value import protocol_hash

TEXT = "choreography P { roles: A, B; A -> B: Ping; B -> A: Pong; }"


def test_origin_is_the_parsed_choreography_the_protocol_was_checked_from() -> None:
    protocol = choreography(TEXT)
    assert protocol.origin.choreography.qualified_name == protocol.qualified_name
    assert protocol.origin.sources == {"<choreography>": TEXT}


def test_the_hash_ignores_layout_and_comments_but_not_messages_or_sizes() -> None:
    relaid = "// a comment\nchoreography P {\n  roles: A, B\n  A -> B: Ping\n  B -> A: Pong\n}\n"
    assert protocol_hash(choreography(TEXT)) == protocol_hash(choreography(relaid))
    assert protocol_hash(choreography(TEXT)) != protocol_hash(choreography(TEXT.replace("Pong", "Pang")))
    family = "choreography F { roles: A, B[N]; A -> B[*]: Ping; }"
    assert protocol_hash(choreography(family).bind(N=2)) != protocol_hash(choreography(family).bind(N=4))
