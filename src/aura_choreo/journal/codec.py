"""Binary encodings of what the journal store writes: a fact's data and a session's trace events.

Each value is stored as a BLOB whose first byte is its format version, so a store can hold rows of
several versions: databases written before the binary format hold TEXT (JSON) in the same columns, and
they are still read (a TEXT value is JSON; a BLOB starts with its version byte). Binary because the
JSON round trip (`json.dumps(..., sort_keys=True)` per fact and per trace event) was a fifth of the
guard chain's per-send cost; msgpack via msgspec is several times cheaper and decodes to the same values.

A fact's data BLOB also carries the fact's author signature when it has one (version 2): a device
relays the signed facts it merged, after a restart too. Unsigned facts keep version 1 (the hot path of
unkeyed journals writes what it wrote before), and rows of both versions, and JSON text, are read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import msgspec

from aura_choreo.journal.facts import FactValue

MSGPACK_V1 = 1
"""Format version 1: the version byte, then a msgpack map."""
SIGNED_V2 = 2
"""Format version 2 (fact data only): the version byte, then a msgpack array [data map, signature]."""

_VERSION_1 = bytes([MSGPACK_V1])
_VERSION_2 = bytes([SIGNED_V2])
_EMPTY_MAP = _VERSION_1 + msgspec.msgpack.encode({})
_Data = dict[str, str | int | float | bool | None]
_data_decoder = msgspec.msgpack.Decoder(_Data)
_signed_decoder = msgspec.msgpack.Decoder(tuple[_Data, bytes])
_events_decoder = msgspec.msgpack.Decoder(list[dict[str, object] | list[object]])
_encoder = msgspec.msgpack.Encoder()


def _event_value(value: object) -> object:
    # Trace events may hold values msgpack cannot encode (the JSON form used `default=str` for them);
    # an event given as a mapping other than a dict is encoded as the dict it holds.
    return dict(value) if isinstance(value, Mapping) else str(value)


_event_encoder = msgspec.msgpack.Encoder(enc_hook=_event_value)


def encode_data(data: Mapping[str, FactValue], signature: bytes = b"") -> bytes:
    """A fact's data (and its author's signature, when it has one) as a versioned BLOB."""
    if signature:
        return _VERSION_2 + _encoder.encode((data, signature))
    if not data:
        return _EMPTY_MAP
    return _VERSION_1 + _encoder.encode(data)


def decode_signed(stored: bytes | str) -> tuple[dict[str, FactValue], bytes]:
    """A fact's data and signature (empty when unsigned) from `encode_data` output, or from the JSON
    text of older databases (unsigned)."""
    if isinstance(stored, str):
        value = json.loads(stored)
        if not isinstance(value, dict):
            raise ValueError("stored fact data is not a JSON object")
        return value, b""
    if stored[:1] == _VERSION_2:
        data, signature = _signed_decoder.decode(memoryview(stored)[1:])
        return dict(data), bytes(signature)
    return _data_decoder.decode(_payload(stored)), b""


def decode_data(stored: bytes | str) -> dict[str, FactValue]:
    """A fact's data from `encode_data` output, or from the JSON text of older databases."""
    return decode_signed(stored)[0]


TRACE_FIELDS = ("kind", "session", "role", "from", "to", "label", "seq", "time", "protocol", "message_kind")
"""The keys of a trace event stored as a row of fields (the runtime trace's JSON form, in this order);
a row without the last field is a user message (`message_kind` "user")."""

TraceRow = tuple[str | int | float, ...]


def encode_events(events: Iterable[Mapping[str, object] | TraceRow]) -> bytes | None:
    """Trace events, each a JSON-like object or a row of `TRACE_FIELDS`, as one versioned BLOB (None
    when there are none)."""
    # Rows and dicts encode as they are (a session's events are encoded in one call, no Python loop).
    chunk = events if isinstance(events, list) else list(events)
    return _VERSION_1 + _event_encoder.encode(chunk) if chunk else None


def decode_events(stored: bytes | str) -> list[dict[str, object]]:
    """The events of `encode_events` output, or the one JSON event of an older database's row."""
    if isinstance(stored, str):
        value = json.loads(stored)
        if not isinstance(value, dict):
            raise ValueError("stored trace event is not a JSON object")
        return [value]
    events = []
    for event in _events_decoder.decode(_payload(stored)):
        if isinstance(event, dict):
            events.append(event)
        else:
            row = dict(zip(TRACE_FIELDS, event, strict=False))
            row.setdefault("message_kind", "user")
            events.append(row)
    return events


def _payload(stored: bytes) -> memoryview:
    if not stored or stored[0] != MSGPACK_V1:
        version = stored[0] if stored else None
        raise ValueError(f"unknown journal encoding version {version} (this build reads 1 and 2)")
    return memoryview(stored)[1:]
