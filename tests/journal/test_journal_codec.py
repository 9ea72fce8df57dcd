"""The journal's binary encodings: round trips, and databases written as JSON text still read."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aura_choreo.journal import Fact, FactId, Journal, JournalStore
from aura_choreo.journal.codec import decode_data, decode_events, decode_signed, encode_data, encode_events

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.text(max_size=20)
    | st.floats(allow_nan=False)
)


@given(st.dictionaries(st.text(max_size=10), SCALARS, max_size=6))
def test_fact_data_round_trips(data: dict[str, object]) -> None:
    encoded = encode_data(data)  # type: ignore[arg-type]
    assert isinstance(encoded, bytes) and encoded[0] == 1
    assert decode_data(encoded) == data


def test_trace_rows_decode_to_the_runtime_json_form() -> None:
    user = ("send", "s1", "A", "A", "B", "Ping", 3, 1.5, "p.P")
    control = ("recv", "s1", "B", "A", "B", "Done", 4, 2.0, "p.P", "control")
    chunk = encode_events([user, control, {"kind": "custom"}])
    assert chunk is not None
    assert decode_events(chunk) == [
        {"kind": "send", "session": "s1", "role": "A", "from": "A", "to": "B", "label": "Ping", "seq": 3,
         "time": 1.5, "protocol": "p.P", "message_kind": "user"},
        {"kind": "recv", "session": "s1", "role": "B", "from": "A", "to": "B", "label": "Done", "seq": 4,
         "time": 2.0, "protocol": "p.P", "message_kind": "control"},
        {"kind": "custom"},
    ]  # fmt: skip
    assert encode_events([]) is None


def test_an_unknown_version_is_refused_with_its_number() -> None:
    with pytest.raises(ValueError, match="version 7"):
        decode_data(b"\x07\x80")
    with pytest.raises(ValueError, match="version"):
        decode_events(b"")


def test_a_database_written_as_json_text_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with JournalStore(path):
        pass  # the schema, as every version creates it
    db = sqlite3.connect(path)
    db.execute(
        "INSERT INTO facts VALUES (?,?,?,?,?,?,?,?,?,?)",
        ("alice", "alice", 1, "granted", "p.P", "s1", "A", "Grant", 1, json.dumps({"to": "B", "cost": 3})),
    )
    db.execute(
        "INSERT INTO trace_events (session, protocol, event) VALUES (?,?,?)",
        ("s1", "p.P", json.dumps({"kind": "send", "label": "Grant"})),
    )
    db.commit()
    db.close()
    with JournalStore(path) as store:
        journal = Journal("alice", store)
        journal.commit(journal.reserve(["acked"], protocol="p.P", session="s1", role="A", label="Ack"))
        journal.record_trace("s1", "p.P", [{"kind": "recv", "label": "Ack"}])
        facts = store.load_facts("alice")
        assert [(f.id, f.name, dict(f.data)) for f in facts] == [
            (FactId("alice", 1), "granted", {"to": "B", "cost": 3}),
            (FactId("alice", 2), "acked", {}),
        ]
        assert store.trace_events("s1") == [
            {"kind": "send", "label": "Grant"},
            {"kind": "recv", "label": "Ack"},
        ]


def test_the_codec_stores_a_signature_only_for_signed_facts() -> None:
    signature = bytes(range(64))
    assert encode_data({"a": 1}) == encode_data({"a": 1}, b"")  # unsigned rows keep version 1
    assert encode_data({"a": 1})[0] == 1 and encode_data({"a": 1}, signature)[0] == 2
    assert decode_signed(encode_data({"a": 1}, signature)) == ({"a": 1}, signature)
    assert decode_signed(encode_data({}, signature)) == ({}, signature)
    assert decode_signed(encode_data({"a": 1})) == ({"a": 1}, b"")
    assert decode_signed('{"a": 1}') == ({"a": 1}, b"")


def test_a_fact_signature_survives_the_store(tmp_path: Path) -> None:
    signed = Fact(FactId("alice", 1), "approved", data={"ticket": 1}, signature=bytes(range(64)))
    with JournalStore(tmp_path / "j.db") as store:
        store.append_facts("bob", [signed, Fact(FactId("alice", 2), "plain")])
    with JournalStore(tmp_path / "j.db") as store:
        loaded = store.load_facts("bob")
    assert [f.signature for f in loaded] == [bytes(range(64)), b""]
    assert loaded[0] == signed and loaded[0].data == {"ticket": 1}


def test_a_malformed_signature_on_the_wire_is_a_decoding_error() -> None:
    fact = Fact(FactId("alice", 1), "approved").to_wire()
    with pytest.raises(ValueError):
        Fact.from_wire({**fact, "signature": "zz"})
    with pytest.raises(TypeError):
        Fact.from_wire({**fact, "signature": "00" * 65})
    with pytest.raises(TypeError):
        Fact.from_wire({**fact, "signature": 7})
