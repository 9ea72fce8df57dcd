"""The sans-I/O network layer without sockets: framing, the handshake state machine, timing, keys."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aura_choreo.errors import KeyFileError, ProtocolMismatch
from aura_choreo.transports.net.framing import (
    FrameDecoder,
    FrameKind,
    FramingError,
    encode_data,
    encode_frame,
)
from aura_choreo.transports.net.handshake import (
    Connection,
    ConnectionRefused,
    DataReceived,
    Event,
    SessionBinding,
    SessionOpened,
    SessionRefused,
)
from aura_choreo.transports.net.identity import (
    Identity,
    format_public_key,
    load_identity,
    parse_public_key,
    write_key_file,
)
from aura_choreo.transports.net.timing import Backoff, KeepAlive, Liveness

ALICE, BOB, MALLORY = Identity.generate("alice"), Identity.generate("bob"), Identity.generate("mallory")
DIRECTORY = {"alice": ALICE.public_bytes, "bob": BOB.public_bytes}
BINDING = SessionBinding("h" * 64, "s1", {"Client": "alice", "Server": "bob"})


# ---------------------------------------------------------------- framing


@given(st.lists(st.binary(max_size=300), max_size=8), st.data())
def test_frames_survive_any_chunking(bodies: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(encode_frame(FrameKind.DATA, b) for b in bodies)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder, got = FrameDecoder(1000), []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        got += decoder.feed(stream[start:end])
    assert got == [(FrameKind.DATA, b) for b in bodies]
    assert decoder.buffered == 0


@given(st.binary(max_size=300))
def test_a_data_frame_encodes_as_any_frame_of_kind_data(body: bytes) -> None:
    assert encode_data(body) == encode_frame(FrameKind.DATA, body)


def test_an_oversized_length_prefix_is_refused_before_buffering_the_body() -> None:
    decoder = FrameDecoder(max_frame=100)
    with pytest.raises(FramingError, match="outside"):
        decoder.feed((10**9).to_bytes(4, "big") + b"\x05")
    assert decoder.buffered == 0


@pytest.mark.parametrize("header", [b"\x00\x00\x00\x00\x05", b"\x00\x00\x00\x02\x63x"])
def test_a_zero_length_or_an_unknown_kind_is_refused(header: bytes) -> None:
    with pytest.raises(FramingError):
        FrameDecoder().feed(header)


def test_a_whole_frame_at_the_size_limit_passes_and_one_byte_more_is_refused() -> None:
    assert FrameDecoder(max_frame=10).feed(encode_data(b"x" * 10)) == [(FrameKind.DATA, b"x" * 10)]
    with pytest.raises(FramingError, match="outside"):
        FrameDecoder(max_frame=10).feed(encode_data(b"x" * 11))


def test_a_truncated_frame_is_held_not_delivered() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(encode_frame(FrameKind.DATA, b"hello")[:-2]) == []
    assert decoder.buffered == 8


@given(st.binary(max_size=40), st.integers(0, 12))
def test_one_data_answers_exactly_for_one_whole_data_frame_as_feed_would(body: bytes, cut: int) -> None:
    """The fast path of a chunk (`one_data`) gives what `feed` gives for one whole, valid data frame,
    and nothing (the decoder left as it was) for anything else."""
    for chunk in (encode_data(body), encode_data(body)[:-cut or None], encode_frame(FrameKind.PING, body),
                  encode_data(body) * 2, b"\x00\x00\x00\x00\x05"):  # fmt: skip
        decoder = FrameDecoder(max_frame=20)
        fast = decoder.one_data(chunk)
        assert decoder.buffered == 0
        assert (fast is not None) == (chunk == encode_data(body) and len(body) <= 20)
        if fast is not None:
            assert FrameDecoder(max_frame=20).feed(chunk) == [(FrameKind.DATA, fast)]


def test_one_data_leaves_a_decoder_holding_part_of_a_frame_to_feed() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_data(b"hello")[:3])
    assert decoder.one_data(encode_data(b"next")) is None
    assert decoder.buffered == 3


# ---------------------------------------------------------------- handshake


def pump(a: Connection, b: Connection) -> tuple[list[Event], list[Event]]:
    """Exchange bytes until both sides are quiet; every event each side saw."""
    seen_a: list[Event] = []
    seen_b: list[Event] = []
    for _ in range(10):
        moved = False
        for src, dst, seen in ((a, b, seen_b), (b, a, seen_a)):
            data = src.data_to_send()
            if data:
                moved = True
                for kind, body in FrameDecoder().feed(data):
                    seen += dst.receive(kind, body)
        if not moved:
            break
    return seen_a, seen_b


def pair(
    dialer: Identity = ALICE,
    binding_d: SessionBinding = BINDING,
    binding_l: SessionBinding | None = BINDING,
    directory: dict[str, bytes] | None = None,
) -> tuple[Connection, Connection, list[Event], list[Event]]:
    directory = directory or DIRECTORY
    d = Connection(dialer, directory, lambda s: None, dialer=True, expected_device="bob")
    listener = Connection(
        BOB, DIRECTORY, lambda s: binding_l if binding_l and s == binding_l.session else None, dialer=False
    )
    d.start()
    listener.start()
    d.join(binding_d)
    ev_d, ev_l = pump(d, listener)
    return d, listener, ev_d, ev_l


def test_both_sides_open_the_session_only_after_the_signed_acceptance() -> None:
    d, listener, ev_d, ev_l = pair()
    assert SessionOpened("s1") in ev_d and SessionOpened("s1") in ev_l
    assert d.is_open and listener.is_open
    assert listener.receive(FrameKind.DATA, b"x") == [DataReceived(b"x")]


def test_different_protocol_hashes_are_refused_on_both_sides_naming_both() -> None:
    other = SessionBinding("f" * 64, "s1", BINDING.roles)
    _, listener, ev_d, ev_l = pair(binding_d=other)
    for events in (ev_d, ev_l):
        refusal = next(e for e in events if isinstance(e, SessionRefused))
        assert isinstance(refusal.error, ProtocolMismatch)
        assert "h" * 64 in str(refusal.error) and "f" * 64 in str(refusal.error)
    assert not listener.is_open


def test_a_device_without_a_role_in_the_session_is_refused() -> None:
    binding = SessionBinding(BINDING.protocol_hash, "s1", {"Client": "carol", "Server": "bob"})
    _, listener, ev_d, _ = pair(binding_l=binding)
    refusal = next(e for e in ev_d if isinstance(e, SessionRefused))
    assert refusal.error.reason == "no-role" and refusal.by_peer
    assert not listener.is_open


def test_an_unknown_device_is_refused_at_hello() -> None:
    d = Connection(MALLORY, {**DIRECTORY, "mallory": MALLORY.public_bytes}, lambda s: None, dialer=True)
    listener = Connection(BOB, DIRECTORY, lambda s: BINDING, dialer=False)
    d.start()
    d.join(BINDING)
    ev_d, ev_l = pump(d, listener)
    assert any(isinstance(e, ConnectionRefused) and e.error.reason == "unknown-device" for e in ev_l)
    assert any(isinstance(e, ConnectionRefused) and e.by_peer for e in ev_d)


def test_a_key_that_is_not_the_pinned_one_is_refused() -> None:
    listener = Connection(BOB, DIRECTORY, lambda s: BINDING, dialer=False, peer_key=MALLORY.public_bytes)
    events = listener.start()
    assert isinstance(events[0], ConnectionRefused) and events[0].error.reason == "unknown-key"


def test_a_recorded_handshake_replayed_on_a_new_connection_is_refused() -> None:
    d = Connection(ALICE, DIRECTORY, lambda s: None, dialer=True)
    first = Connection(BOB, DIRECTORY, lambda s: BINDING, dialer=False)
    d.start()
    d.join(BINDING)
    recorded = b""
    for _ in range(3):
        out = d.data_to_send()
        recorded += out
        for kind, body in FrameDecoder().feed(out):
            first.receive(kind, body)
        for kind, body in FrameDecoder().feed(first.data_to_send()):
            d.receive(kind, body)
    assert first.is_open
    second = Connection(BOB, DIRECTORY, lambda s: BINDING, dialer=False)
    events = [e for kind, body in FrameDecoder().feed(recorded) for e in second.receive(kind, body)]
    refusal = next(e for e in events if isinstance(e, SessionRefused))
    assert refusal.error.reason == "replayed"
    assert not second.is_open
    assert second.receive(FrameKind.DATA, b"x")[0].__class__ is ConnectionRefused


def test_data_before_acceptance_closes_the_connection() -> None:
    listener = Connection(BOB, DIRECTORY, lambda s: BINDING, dialer=False)
    events = listener.receive(FrameKind.DATA, b"envelope")
    assert isinstance(events[0], ConnectionRefused) and events[0].error.reason == "not-open"


@given(st.lists(st.tuples(st.sampled_from(list(FrameKind)), st.binary(max_size=80)), max_size=20))
def test_random_frames_never_raise_and_never_deliver_data_unauthenticated(
    frames: list[tuple[FrameKind, bytes]],
) -> None:
    listener = Connection(BOB, DIRECTORY, lambda s: BINDING, dialer=False)
    for kind, body in frames:
        for event in listener.receive(kind, body):
            assert not isinstance(event, DataReceived | SessionOpened)


# ---------------------------------------------------------------- timing


def test_keepalive_pings_when_idle_and_declares_a_silent_peer_dead() -> None:
    k = KeepAlive(interval=2, timeout=10, last_received=0, last_sent=0)
    assert k.poll(1) is Liveness.IDLE
    assert k.poll(2.5) is Liveness.PING
    k.sent(2.5)
    assert k.next_check(2.5) == pytest.approx(2.0)
    assert k.poll(10) is Liveness.DEAD
    k.received(10)
    k.sent(10)
    assert k.poll(11) is Liveness.IDLE


def test_backoff_grows_to_its_cap_and_resets() -> None:
    b = Backoff(initial=0.1, maximum=1.0, seed=3)
    delays = [b.next_delay() for _ in range(8)]
    assert all(0.05 <= d <= 1.0 for d in delays)
    assert delays[-1] >= 0.5
    b.reset()
    assert b.next_delay() <= 0.1


# ---------------------------------------------------------------- keys


def test_a_key_file_is_private_and_round_trips(tmp_path: Path) -> None:
    path, public = write_key_file("alice", tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    identity = load_identity(path)
    assert identity.device == "alice"
    assert format_public_key(identity.public_bytes) == public
    assert parse_public_key(public) == identity.public_bytes


def test_a_key_readable_by_others_is_refused_with_the_fix(tmp_path: Path) -> None:
    path, _ = write_key_file("alice", tmp_path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_identity(path)


def test_a_malformed_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.key"
    path.write_bytes(b"not a key")
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError, match="not a PEM private key"):
        load_identity(path)


def test_an_existing_key_is_not_overwritten(tmp_path: Path) -> None:
    write_key_file("alice", tmp_path)
    with pytest.raises(KeyFileError, match="already exists"):
        write_key_file("alice", tmp_path)


@pytest.mark.parametrize("text", ["ed25519:!!!", "ed25519:AAAA", "zz"])
def test_malformed_public_keys_say_what_is_wrong(text: str) -> None:
    with pytest.raises(ValueError):
        parse_public_key(text)


def test_a_different_network_protocol_version_is_refused_with_both_versions() -> None:
    import msgspec

    from aura_choreo.transports.net.handshake import NET_VERSION, Hello

    listener = Connection(BOB, DIRECTORY, lambda s: BINDING, dialer=False)
    events = listener.receive(
        FrameKind.HELLO, msgspec.msgpack.encode(Hello(NET_VERSION + 1, "alice", b"n" * 32))
    )
    assert isinstance(events[0], ConnectionRefused)
    assert events[0].error.reason == "version"
    assert str(NET_VERSION + 1) in str(events[0].error) and str(NET_VERSION) in str(events[0].error)
