"""ws:// frames after the upgrade (`transports.ws_frames`), without sockets: what we write parses with
the `websockets` library's parser and what it writes parses with ours, chunked any way; every breach of
RFC 6455 or of the size limit is a `WsError` with its close code, and nothing else ever raises."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Close, Frame, Opcode
from websockets.streams import StreamReader

from aura_choreo.transports.ws_frames import (
    BINARY,
    CLOSE,
    CONT,
    PING,
    PONG,
    TEXT,
    CloseCode,
    FrameReader,
    FrameWriter,
    WsError,
    _python_mask,
    apply_mask,
    close_payload,
    parse_close,
)

LIMIT = 70_000  # above 65535: the 8-byte length form is reachable
payloads = st.binary(max_size=300) | st.builds(  # around 65535, where the 2-byte length ends
    lambda seed, size: (seed * size)[:size], st.binary(min_size=1, max_size=8), st.integers(65_530, 65_540)
)
control_payloads = st.binary(max_size=125)


def websockets_parse(data: bytes, *, masked: bool) -> list[Frame]:
    """Every frame in `data`, by the `websockets` library's own parser."""
    stream = StreamReader()
    stream.feed_data(data)
    frames = []
    while stream.buffer:
        parser = Frame.parse(stream.read_exact, mask=masked, max_size=None)
        try:
            next(parser)
        except StopIteration as done:
            frames.append(done.value)
        else:
            raise AssertionError("incomplete frame")
    return frames


def feed_in_chunks(reader: FrameReader, data: bytes, cuts: list[int]) -> list[tuple[int, bytes]]:
    events = []
    start = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        events += reader.feed(data[start:cut])
        start = cut
    return events


@given(st.booleans(), payloads)
def test_a_binary_frame_we_write_parses_with_websockets(masked: bool, payload: bytes) -> None:
    [frame] = websockets_parse(FrameWriter(masked=masked).binary(payload), masked=masked)
    assert (frame.opcode, frame.data, frame.fin) == (Opcode.BINARY, payload, True)


@given(st.booleans(), st.sampled_from([PING, PONG]), control_payloads)
def test_a_control_frame_we_write_parses_with_websockets(masked: bool, opcode: int, payload: bytes) -> None:
    [frame] = websockets_parse(FrameWriter(masked=masked).frame(opcode, payload), masked=masked)
    assert (int(frame.opcode), frame.data) == (opcode, payload)


@given(st.booleans(), st.sampled_from([1000, 1002, 1003, 1009, 4000]), st.text(max_size=200))
def test_a_close_frame_we_write_parses_with_websockets(masked: bool, code: int, reason: str) -> None:
    [frame] = websockets_parse(FrameWriter(masked=masked).close(code, reason), masked=masked)
    close = Close.parse(frame.data)
    assert close.code == code and reason.startswith(close.reason)
    assert len(frame.data) <= 125


@given(
    st.booleans(),
    st.lists(st.tuples(st.lists(payloads, min_size=1, max_size=4), control_payloads), min_size=1, max_size=4),
    st.lists(st.integers(min_value=0), max_size=8),
)
def test_messages_websockets_writes_parse_with_ours_however_chunked(
    masked: bool, messages: list[tuple[list[bytes], bytes]], cuts: list[int]
) -> None:
    """Each message fragmented as given, with a ping between its first two fragments (RFC 6455 §5.4
    lets control frames interleave)."""
    wire = b""
    expected: list[tuple[int, bytes]] = []
    for fragments, ping in messages:
        for i, fragment in enumerate(fragments):
            opcode = Opcode.BINARY if i == 0 else Opcode.CONT
            wire += Frame(opcode, fragment, fin=i == len(fragments) - 1).serialize(mask=masked)
            if i == 0 and len(fragments) > 1:
                wire += Frame(Opcode.PING, ping).serialize(mask=masked)
                expected.append((PING, ping))
        expected.append((BINARY, b"".join(fragments)))
    reader = FrameReader(masked=masked, max_size=4 * LIMIT)
    assert feed_in_chunks(reader, wire, cuts) == expected
    assert reader.buffered == 0


@given(st.binary(min_size=1, max_size=200))
def test_the_python_mask_matches_the_c_one(data: bytes) -> None:
    key = bytes(data[:4].ljust(4, b"k"))
    assert _python_mask(data, key) == apply_mask(data, key)
    assert _python_mask(_python_mask(data, key), key) == data


@given(st.booleans(), st.binary(max_size=2000), st.lists(st.integers(min_value=0), max_size=6))
def test_garbage_and_truncated_input_raise_only_a_close_code_and_stay_bounded(
    masked: bool, garbage: bytes, cuts: list[int]
) -> None:
    reader = FrameReader(masked=masked, max_size=1000)
    try:
        feed_in_chunks(reader, garbage, cuts)
    except WsError as exc:
        assert exc.code in (CloseCode.PROTOCOL_ERROR, CloseCode.TOO_BIG, CloseCode.INVALID_DATA)
    else:
        assert reader.buffered <= 1000 + 14  # one frame's payload and header at most


OPCODES = [BINARY, TEXT, PING, CLOSE, CONT]


def header(first: int, length: int, *, masked: bool = True) -> bytes:
    bit = 0x80 if masked else 0
    if length < 126:
        return bytes((first, bit | length))
    return bytes((first, bit | 127)) + struct.pack(">Q", length)


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (header(0x82, 1 << 40), 1009, "exceeds the limit"),
        (header(0x82, 5, masked=False) + b"hello", 1002, "unmasked frame from the client"),
        (header(0xC2, 0) + b"mask", 1002, "reserved bits"),
        (header(0x83, 0) + b"mask", 1002, "invalid opcode 0x3"),
        (header(0x89, 126), 1002, "control frame of 126 bytes"),
        (header(0x09, 0), 1002, "fragmented control frame"),
        (header(0x80, 0) + b"mask", 1002, "continuation frame outside"),
        (header(0x02, 0) + b"mask" + header(0x82, 0) + b"mask", 1002, "new message inside"),
        (header(0x88, 1) + b"\0\0\0\0" + b"x", 1002, "close frame of 1 byte"),
        (header(0x88, 2) + b"\0\0\0\0" + struct.pack(">H", 999), 1002, "invalid close code 999"),
        (header(0x88, 3) + b"\0\0\0\0" + struct.pack(">H", 1000) + b"\xff", 1007, "not UTF-8"),
    ],
)
def test_each_breach_has_its_close_code(data: bytes, code: int, message: str) -> None:
    with pytest.raises(WsError, match=message) as raised:
        FrameReader(masked=True, max_size=1000).feed(data)
    assert raised.value.code == code


def test_an_oversized_frame_is_refused_by_its_header_alone() -> None:
    reader = FrameReader(masked=True, max_size=1000)
    with pytest.raises(WsError) as raised:
        reader.feed(header(0x82, 1001))  # no payload sent yet
    assert raised.value.code == CloseCode.TOO_BIG


def test_a_fragmented_message_over_the_limit_is_refused() -> None:
    writer, reader = FrameWriter(masked=True), FrameReader(masked=True, max_size=1000)
    assert reader.feed(writer.frame(BINARY, b"x" * 600, fin=False)) == []
    with pytest.raises(WsError, match="1200 bytes") as raised:
        reader.feed(writer.frame(CONT, b"x" * 600))
    assert raised.value.code == CloseCode.TOO_BIG


def test_a_masked_frame_from_the_server_is_refused_by_the_client() -> None:
    with pytest.raises(WsError, match="masked frame from the server"):
        FrameReader(masked=False, max_size=1000).feed(FrameWriter(masked=True).binary(b"x"))


def test_text_and_control_frames_come_out_as_events_for_the_pipe_to_judge() -> None:
    writer, reader = FrameWriter(masked=False), FrameReader(masked=False, max_size=1000)
    wire = writer.frame(TEXT, b"hi") + writer.frame(PONG, b"p") + writer.close(1000, "bye")
    assert reader.feed(wire) == [(TEXT, b"hi"), (PONG, b"p"), (CLOSE, close_payload(1000, "bye"))]


def test_close_payloads_carry_their_code_and_a_reason_cut_on_a_character() -> None:
    assert parse_close(b"") == (CloseCode.NO_STATUS, "")
    assert close_payload(CloseCode.NO_STATUS) == b""
    code, reason = parse_close(close_payload(1009, "é" * 100))
    assert code == 1009 and reason == "é" * 61 and len(close_payload(1009, "é" * 100)) <= 125


def test_mask_keys_come_from_the_random_source_in_blocks() -> None:
    calls: list[int] = []

    def source(n: int) -> bytes:
        calls.append(n)
        return bytes(range(256)) * (n // 256)

    writer = FrameWriter(masked=True, random_bytes=source)
    frames = [writer.binary(b"\0\0\0\0") for _ in range(257)]
    assert frames[0][2:6] == b"\0\1\2\3" and frames[1][2:6] == b"\4\5\6\7"
    assert frames[0][6:] == b"\0\1\2\3"  # zeros masked: the key itself
    assert calls == [1024, 1024]


@given(
    st.booleans(),
    st.lists(st.tuples(st.sampled_from(OPCODES), st.binary(max_size=140)), max_size=5),
    st.integers(min_value=0),
    st.integers(min_value=1, max_value=255),
)
def test_frames_with_one_byte_changed_raise_only_a_close_code(
    masked: bool, frames: list[tuple[int, bytes]], where: int, flip: int
) -> None:
    """Near-valid input reaches the checks past the first header byte (lengths, masks, fragments)."""
    writer = FrameWriter(masked=masked)
    wire = bytearray(b"".join(writer.frame(op, p[:125] if op >= CLOSE else p) for op, p in frames))
    if wire:
        wire[where % len(wire)] ^= flip
    reader = FrameReader(masked=masked, max_size=1000)
    try:
        reader.feed(bytes(wire))
    except WsError as exc:
        assert exc.code in (CloseCode.PROTOCOL_ERROR, CloseCode.TOO_BIG, CloseCode.INVALID_DATA)
