"""The TCP transport against hostile peers on a live loopback socket: refusals on both sides, with the
reason, nothing delivered, the server still serving, no traceback."""

from __future__ import annotations

import asyncio
import logging
import random
import ssl

import pytest

from aura_choreo.deployment.run import envelope_origin
from aura_choreo.errors import HandshakeRefused, ProtocolMismatch
from aura_choreo.runtime.wire import KIND_DATA, NIL, WIRE_VERSION, Envelope, encode_envelope
from aura_choreo.transports.carrier import TcpTransport
from aura_choreo.transports.net.framing import FrameDecoder, FrameKind, encode_frame
from aura_choreo.transports.net.handshake import Connection, SessionBinding
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.peering import PeerDevice
from aura_choreo.transports.tls import tls_context as _context
from conftest import free_port, require_quic

CARRIERS = pytest.mark.parametrize("scheme", ["tcp", "ws", "quic"])
ALICE, BOB, MALLORY = Identity.generate("alice"), Identity.generate("bob"), Identity.generate("mallory")
HASH = "a" * 64
BINDING = SessionBinding(HASH, "s1", {"Client": "alice", "Server": "bob"})


class Server:
    """bob listening for session s1, recording every frame delivered to the session layer."""

    def __init__(self, *, check_origin: bool = False, scheme: str = "tcp", **options: float) -> None:
        if scheme == "quic":
            require_quic()
        self.address = f"{scheme}://127.0.0.1:{free_port()}"
        peers = {"alice": PeerDevice("alice", ALICE.public_bytes)}
        origin = envelope_origin if check_origin else None
        self.transport = TcpTransport(
            BOB,
            peers,
            listen=self.address,
            frame_origin=origin,
            **options,  # type: ignore[arg-type]
        )
        self.delivered: list[bytes] = []

    async def __aenter__(self) -> Server:
        await self.transport.start()
        self.transport.attach(self.transport.local_address, lambda _a, frame: self.delivered.append(frame))
        self.transport.register_session(BINDING)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.transport.aclose()


def client(identity: Identity, server: Server, *, pinned: bytes | None = None) -> TcpTransport:
    peers = {"bob": PeerDevice("bob", pinned or BOB.public_bytes, server.address)}
    return TcpTransport(identity, peers, handshake_timeout=2.0)


async def legit_session_opens(server: Server) -> None:
    async with client(ALICE, server) as alice:
        alice.attach(alice.local_address, lambda _a, _f: None)
        await alice.open_session(BINDING, timeout=10)
        link_frames = len(server.delivered)
        await alice._post(server.address, b"hello")
        for _ in range(200):
            if len(server.delivered) > link_frames:
                break
            await asyncio.sleep(0.01)
    assert server.delivered[-1] == b"hello"


@CARRIERS
async def test_a_pinned_peer_opens_the_session_and_frames_flow(scheme: str) -> None:
    async with Server(scheme=scheme) as server:
        await legit_session_opens(server)


@CARRIERS
async def test_a_wrong_key_is_refused_on_both_sides(scheme: str) -> None:
    async with Server(scheme=scheme) as server:
        # mallory claims to be alice: the TLS leaf key is not alice's pinned key.
        impostor = Identity("alice", MALLORY.private_key)
        async with client(impostor, server) as c:
            with pytest.raises(HandshakeRefused) as refused:
                await c.open_session(BINDING, timeout=10)
        assert refused.value.reason == "unknown-key"
        assert any("unknown-key" in r for r in server.transport.refusals)
        assert server.delivered == []
        await legit_session_opens(server)


@CARRIERS
async def test_an_unknown_device_is_refused(scheme: str) -> None:
    async with Server(scheme=scheme) as server:
        carol = Identity.generate("carol")
        binding = SessionBinding(HASH, "s1", {"Client": "carol", "Server": "bob"})
        async with client(carol, server) as c:
            with pytest.raises(HandshakeRefused):
                await c.open_session(binding, timeout=10)
        assert any("unknown-key" in r for r in server.transport.refusals)
        assert server.delivered == []


@CARRIERS
async def test_a_server_with_the_wrong_key_is_refused_by_the_client(scheme: str) -> None:
    async with Server(scheme=scheme) as server, client(ALICE, server, pinned=MALLORY.public_bytes) as c:
        with pytest.raises(HandshakeRefused) as refused:
            await c.open_session(BINDING, timeout=10)
        assert refused.value.reason == "wrong-key"


@CARRIERS
async def test_a_different_protocol_is_refused_naming_both_hashes(scheme: str) -> None:
    async with Server(scheme=scheme) as server:
        other = SessionBinding("b" * 64, "s1", BINDING.roles)
        async with client(ALICE, server) as c:
            with pytest.raises(ProtocolMismatch) as mismatch:
                await c.open_session(other, timeout=10)
        assert HASH in str(mismatch.value) and "b" * 64 in str(mismatch.value)
        assert any("protocol-mismatch" in r and HASH in r for r in server.transport.refusals)
        assert server.delivered == []


async def raw_tls(
    server: Server, identity: Identity = ALICE
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = server.address.removeprefix("tcp://").split(":")
    return await asyncio.open_connection(host, int(port), ssl=_context(identity, server=False))


async def read_frames(reader: asyncio.StreamReader, until: FrameKind) -> list[tuple[FrameKind, bytes]]:
    decoder, frames = FrameDecoder(), []
    while not any(k is until for k, _ in frames):
        data = await asyncio.wait_for(reader.read(65536), 5)
        if not data:
            break
        frames += decoder.feed(data)
    return frames


async def test_replayed_handshake_bytes_are_refused() -> None:
    async with Server() as server:
        # Record a genuine HELLO + JOIN from one connection ...
        reader, writer = await raw_tls(server)
        keys = {"bob": BOB.public_bytes, "alice": ALICE.public_bytes}
        dialer = Connection(ALICE, keys, lambda s: None, dialer=True)
        dialer.start()
        dialer.join(BINDING)
        recorded = dialer.data_to_send()
        writer.write(recorded)
        for kind, body in await read_frames(reader, FrameKind.HELLO):
            dialer.receive(kind, body)
        join = dialer.data_to_send()  # the JOIN, signed over this connection's nonces
        writer.write(join)
        assert any(k is FrameKind.ACCEPT for k, _ in await read_frames(reader, FrameKind.ACCEPT))
        recorded += join
        writer.close()
        # ... and replay the bytes on a new one.
        reader, writer = await raw_tls(server)
        writer.write(recorded)
        frames = await read_frames(reader, FrameKind.REFUSE)
        writer.close()
        assert any(k is FrameKind.REFUSE and b"replayed" in body for k, body in frames)
        assert any("replayed" in r for r in server.transport.refusals)
        assert server.delivered == []
        await legit_session_opens(server)


async def test_ten_thousand_fuzzed_frames_are_refused_and_the_server_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = random.Random(12)
    kinds = [int(k) for k in FrameKind] + [0, 9, 200]
    sent = 0
    async with Server(max_handshaking=8) as server:
        while sent < 10_000:
            batch = []
            for _ in range(250):
                body = rng.randbytes(rng.choice([0, 1, 7, 40, 300]))
                frame = encode_frame(FrameKind.DATA, body)
                frame = frame[:4] + bytes([rng.choice(kinds)]) + frame[5:]
                if rng.random() < 0.05:  # a lying length prefix
                    frame = rng.randbytes(4) + frame[4:]
                batch.append(frame)
            reader, writer = await raw_tls(server)
            try:
                writer.write(b"".join(batch))
                await writer.drain()
                await asyncio.wait_for(reader.read(), 5)
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                writer.close()
            sent += len(batch)
        assert server.delivered == []
        assert server.transport.refusals
        await legit_session_opens(server)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text


async def test_slowloris_and_connection_floods_are_closed_and_the_server_keeps_serving() -> None:
    async with Server(handshake_timeout=0.5, max_handshaking=4) as server:
        host, port = server.address.removeprefix("tcp://").split(":")
        idle = [await asyncio.open_connection(host, int(port)) for _ in range(12)]  # never speak TLS
        for reader, _ in idle:
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        for _, writer in idle:
            writer.close()
        # Authenticated TLS but silent after it: closed at the handshake deadline.
        reader, writer = await raw_tls(server)
        try:
            closed = await asyncio.wait_for(reader.read(), 5) == b""
        except (ConnectionError, ssl.SSLError):
            closed = True
        assert closed
        writer.close()
        assert any("handshake not finished" in r for r in server.transport.refusals)
        await legit_session_opens(server)


@CARRIERS
async def test_an_authenticated_peer_cannot_speak_for_another_role_or_session(scheme: str) -> None:
    def envelope(session: str, sender: str) -> bytes:
        return encode_envelope(Envelope(WIRE_VERSION, KIND_DATA, session, "", sender, "Server", "M", 1, NIL))

    async with Server(check_origin=True, scheme=scheme) as server, client(ALICE, server) as alice:
        alice.attach(alice.local_address, lambda _a, _f: None)
        await alice.open_session(BINDING, timeout=10)
        forged = [envelope("s1", "Server"), envelope("s2", "Client")]  # bob's role; a session not joined
        genuine = envelope("s1", "Client")
        for frame in [*forged, genuine]:
            await alice._post(server.address, frame)
        for _ in range(300):
            if server.delivered:
                break
            await asyncio.sleep(0.01)
        assert server.delivered == [genuine]
        assert server.transport.forged == 2


async def test_a_frame_check_that_raises_ends_that_connection_not_the_event_loop_callback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug in the per-frame origin check must not raise out of the transport (through the TLS pipe's
    readiness callback into asyncio): the connection ends with a logged reason and the server serves on."""

    def origin(payload: bytes) -> tuple[str, str] | None:
        if payload == b"boom":
            raise RuntimeError("origin check bug")
        return None  # not an envelope: delivered, the session layer counts it

    async with Server() as server:
        server.transport.frame_origin = origin
        with caplog.at_level(logging.WARNING):
            async with client(ALICE, server) as alice:
                alice.attach(alice.local_address, lambda _a, _f: None)
                await alice.open_session(BINDING, timeout=10)
                await alice._post(server.address, b"boom")
                for _ in range(200):
                    if any("origin check bug" in r.getMessage() for r in caplog.records):
                        break
                    await asyncio.sleep(0.01)
        assert any(
            r.name == "aura_choreo.tcp" and "origin check bug" in r.getMessage() for r in caplog.records
        )
        assert not [r for r in caplog.records if r.name == "asyncio" and r.levelno >= logging.ERROR]
        assert b"boom" not in server.delivered
        await legit_session_opens(server)
