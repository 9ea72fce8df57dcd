"""Benchmark: every network carrier (tcp://, ws://, quic://, nats://) against its raw baseline, in one run.

Per carrier, two devices in this process (one event loop, loopback), through the full runtime
(envelopes, monitor, acknowledgements, the carrier's authentication: TLS 1.3 + pinned keys for
tcp/ws/quic, per-frame Ed25519 signatures for nats):
- round trips/s of a Ping/Pong loop, against the raw library doing the same exchange:
  tcp:// vs raw asyncio TCP length-prefixed framing, ws:// vs a raw `websockets` echo, quic:// vs a raw
  aioquic stream echo, nats:// vs raw nats-py request/reply;
- sessions/s of a 2-role Ask/Answer session (session set-up included), against one raw round trip.

    .venv/bin/python bench/bench_transports.py [round_trips [carrier ...]]   (default: 1000, all)

Targets (issue 13): round trip <= 1.3x raw for tcp, <= 1.5x for the others. The raw baselines carry no
authentication at all, so the ratios include the price of TLS (tcp, ws) or of signatures (nats); for
tcp and ws the same exchange over TLS 1.3 with asyncio streams is printed too (quic's raw stream is
encrypted already), and so is the floor no runtime can go under: raw TLS / raw for ws; for tcp, whose
TLS is not asyncio's (`transports.tls_socket`: non-blocking SSLSockets driven by readiness callbacks),
the same ping-pong done that way with no runtime ("raw TLS, lean"), lean / raw; for nats the same raw
request/reply with each message signed by its sender and verified by its receiver (SPEC §5.7 asks
that of every envelope: at least 2 Ed25519 signs + 2 verifies per round trip, acks riding on data).

nats:// (measured 2026-12, 2-core machine under load avg 4-9 from other work): a raw round trip took
370-590 us; a round trip's signatures cost ~280 us with libsodium (PyNaCl; sign ~41 us, verify ~98 us
when quiet) against ~420 us with OpenSSL's Ed25519 (verify ~160 us); so the floor, raw signed / raw,
measured 1.2-1.8x (mostly 1.5-1.8x) and the 1.5x target is at or under it. The runtime stayed within
1.0-1.25x of that floor. Verifying in a worker thread (cffi releases the GIL) made a round trip
2-2.7x slower: in a ping-pong nothing runs while a frame is checked, so only the hand-off is added.
The carrier's own work per frame besides the signature (routing head, signed bytes, encode, decode)
is ~10 us. Every ack of the ping-pong rides on the reply: 1000 round trips publish 2000 data frames
and 1 ack frame (the last Pong's).
Instruction counts (cachegrind, this process only, 2026-12): Ed25519 over a ~200-byte frame costs 264k
(sign) and 675k (verify) instructions with libsodium against 462k and 1,440k with OpenSSL; PyNaCl's
wrappers add ~7k per call over libsodium itself (left alone: only a private module avoids them). A
runtime round trip is 2.63M instructions, raw request/reply 0.53M, raw signed 2.40M: the four signature
operations are 71% of the runtime's instructions; the carrier's own Python is ~21k per frame sent and
~28k per frame received (signatures stubbed). Runtime and raw both take 10 event-loop iterations per
round trip (a subscription callback's queue hop adds none). So with an Ed25519 signature per envelope
the 1.5x target is out of reach here: the floor alone is ~1.4-1.7x, and the runtime needs some work
of its own over it (printed below as what the target would need).

quic:// (measured 2026-12, load avg 7-15 from other work): aioquic's work per datagram (build, encrypt,
sendto; recvfrom, decrypt, parse; re-arm its timer) is most of a round trip, so the count of datagrams
decides. The raw echo sends 2.56 per round trip (aioquic makes an ACK due 1 ms after a packet and sends
it alone unless a packet leaves after that). The runtime's replies take longer than 1 ms, so nearly
every ACK went alone: 2.95 datagrams per round trip; since quic:// lets the next data carry a pending ACK
(`transports.quic_acks`), 2.02. What remains over the raw echo is the runtime's own work. Whether other
carriers ran before quic:// in this process does not change its ratio measurably: nothing is left
running, the garbage collector only ever collects young generations while a carrier runs (about 20
gen-0 and 3 gen-1 collections per 1000 round trips, under 3% of the CPU, fresh or not), and paired
ratios (quic first, then quic after tcp and ws, in one process) went 1.28/1.51, 1.56/1.18, 1.42/1.40:
the spread is the machine's load, not the order. Under that load one turn's ratio ranged 0.66-1.59;
the best of 3 turns each side gave 0.87-1.34 over four runs, the best of 6 gave 1.09-1.16: hence 5 turns.

ws:// (measured 2026-12, load avg 10-14 from other work): websockets' generator-based frame parser and
its serialiser cost ~35 us a message, so ws:// reads and writes frames after the HTTP upgrade with its
own codec (`transports.ws_frames`; websockets still does the upgrade). By instructions (cachegrind,
1200 minus 200 round trips, both ends in this process) a round trip then cost 350k, against 441k
before, 279k for the raw websockets echo (1.26x; was 1.58x) and 397k for the raw echo over TLS, whose
asyncio TLS layer is Python: the runtime over ws:// does less work than a raw websockets echo with
the same encryption. Wall clock, alternating runs of this file with `1000 ws`: before 1.82-1.97x, after
1.38-1.51x (and one 0.79x), the raw baselines themselves varying 1.2k-2.5k round trips/s with the load.

Where the time goes over tcp:// (2026-12; both devices in this process; instructions per round trip by
cachegrind with the node's ack and resend timers pushed out, so that only per-message work counts,
+-10k between runs; system calls by strace -c): raw asyncio TCP framing 114k instructions and 8 system
calls; the lean TLS ping-pong (tcp://'s TLS floor) 95k and 9 (OpenSSL reads a record with two reads);
asyncio streams over TLS 235k; the runtime over the in-memory transport, no bytes at all, 149k; the
network transport alone (TLS pipe, connection, framing; no session layer) 127k; the runtime over
tcp:// 299-310k and 10 (12 before the node stopped asking asyncio for its loop per message: on
Python 3.11 that is a getpid() system call). So TLS done tcp://'s way costs no more than asyncio's
plain streams, and the ratio is the runtime's own: its work per round trip without any network
(149k) is already 1.3x a whole raw TCP round trip, and with both ends in this one process each pays
both devices' runtime one after the other, which a real two-process deployment overlaps
(`bench_tcp.py` measures that). <= 1.3x raw TCP would need runtime, session layer and carrier
together to cost what asyncio's streams alone cost. (Before acknowledgements rode on data frames,
the session layer's per-frame acks and resend wakeups were another ~30% over tcp://.)
Later (2026-12, same method, 1200 minus 200 round trips): the runtime over tcp:// went from 315k to
301k (a chunk holding one whole data frame skips the decoding loop, a data frame is written from the
transport with its header in one write, the node decodes without a wrapper's call frame, reads the
clock directly and keeps each channel's inbox); the in-memory runtime measured 143k, raw TCP 115k, the
lean TLS ping-pong 96k. Per round trip the wire carries 2 data frames and no ack frame (2 TLS records;
10 system calls: 4 epoll_wait, 2 write, 4 read). Of the ~4,080 Python bytecodes a round trip
executes, the network path (node send and arrival, transport, connection, TLS pipe) is ~1,170, asyncio's
loop ~1,000 (as in the raw baseline), the runtime (endpoint, monitor, inbox) the rest. CPU time
(getrusage, load average 6-9): raw ~58 us a round trip, lean TLS 60-80, in-memory runtime 36-39,
tcp:// 176-225: tcp:// runs more Python per instruction-cycle than its baselines (its instruction
ratio is 2.6x, its CPU ratio ~3-3.8x). The lines "runtime, no network" and "runtime + lean TLS"
print that floor in this run: the ratio tcp:// could reach if its session layer and carrier cost
nothing. By wall clock the in-memory runtime is about half a raw TCP round trip (whose cost is mostly
the kernel's), so that floor is ~1.2-1.3x: 1.3x would leave the session layer, envelopes, framing and
the TLS pipe almost nothing; by instructions the floor is ~2.1x.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import nats
from aioquic.asyncio.client import connect as quic_connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.asyncio.server import serve as quic_serve
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent, StreamDataReceived
from aioquic.tls import load_pem_x509_certificates
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve

from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.runner import run_role
from aura_choreo.transports.carrier import TcpTransport
from aura_choreo.transports.inmemory import InMemoryTransport
from aura_choreo.transports.nats_broker import NatsTransport
from aura_choreo.transports.nats_client import confirm_subscriptions
from aura_choreo.transports.nats_server import NatsServer
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.net.signed import SODIUM, frame_signer, frame_verifier
from aura_choreo.transports.peering import PeerDevice
from aura_choreo.transports.tls import Credentials

PING_PONG = """
choreography PingPong {
    roles: A, B;
    loop (count: ROUNDS) { A -> B: Ping(n: i64); B -> A: Pong(n: i64); }
}
"""
ASK = """
choreography Ask {
    roles: A, B;
    A -> B: Question(n: i64);
    B -> A: Answer(n: i64);
}
"""
SESSIONS = 100
REPEATS = 5  # turns of raw and runtime, best of each kept (see the quic:// note above)
PAYLOAD = b"\x92\xa4Ping\x01" + b"x" * 80  # about the size of an envelope
_LEN = struct.Struct(">I")
ALICE, BOB = Identity.generate("alice"), Identity.generate("bob")
ROLES = {"A": "alice", "B": "bob"}
Transport = TcpTransport | NatsTransport


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ---------------------------------------------------------------- raw baselines


async def raw_tcp(rounds: int, tls: bool = False) -> float:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(4)
                writer.write(header + await reader.readexactly(_LEN.unpack(header)[0]))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    credentials = Credentials(BOB), Credentials(ALICE)
    server_ssl = credentials[0].ssl_context(server=True) if tls else None
    client_ssl = credentials[1].ssl_context(server=False) if tls else None
    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ssl)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ssl)
    started = time.perf_counter()
    for _ in range(rounds):
        writer.write(_LEN.pack(len(PAYLOAD)) + PAYLOAD)
        await reader.readexactly(4 + len(PAYLOAD))
    elapsed = time.perf_counter() - started
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    return elapsed


async def raw_tls_socket(rounds: int) -> float:
    """The same ping-pong over TLS 1.3 (the same contexts) the way tcp:// does TLS
    (`transports.tls_socket`): non-blocking `ssl.SSLSocket`s that OpenSSL reads and writes itself, from
    the event loop's readiness callbacks, with no runtime, no streams and no asyncio TLS layer: the
    floor of tcp://."""
    loop = asyncio.get_running_loop()
    with socket.create_server(("127.0.0.1", 0)) as listening:
        plain = socket.create_connection(listening.getsockname())
        accepted, _ = listening.accept()
    for sock in (plain, accepted):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client = Credentials(ALICE).ssl_context(server=False).wrap_socket(plain, do_handshake_on_connect=False)
    server = Credentials(BOB).ssl_context(server=True).wrap_socket(
        accepted, server_side=True, do_handshake_on_connect=False
    )
    # Blocking handshakes, one thread each (not timed); then both ends non-blocking in this loop.
    await asyncio.gather(asyncio.to_thread(client.do_handshake), asyncio.to_thread(server.do_handshake))
    client.setblocking(False)
    server.setblocking(False)
    # OpenSSL's own objects, called as tls_socket calls them (SSLSocket.read/write add a Python check).
    client_tls: Any = getattr(client, "_sslobj", None) or client
    server_tls: Any = getattr(server, "_sslobj", None) or server
    frame = _LEN.pack(len(PAYLOAD)) + PAYLOAD
    received, echoing = bytearray(), bytearray()
    waiter: asyncio.Future[None] | None = None

    def echo() -> None:
        try:
            echoing.extend(server_tls.read(65536))
        except ssl.SSLWantReadError:
            return
        while len(echoing) >= 4 and len(echoing) >= (end := 4 + _LEN.unpack_from(echoing)[0]):
            server_tls.write(echoing[:end])  # a few bytes: the socket takes them at once
            del echoing[:end]

    def answer() -> None:
        try:
            received.extend(client_tls.read(65536))
        except ssl.SSLWantReadError:
            return
        if len(received) >= len(frame) and waiter is not None and not waiter.done():
            waiter.set_result(None)

    loop.add_reader(server.fileno(), echo)
    loop.add_reader(client.fileno(), answer)
    try:
        started = time.perf_counter()
        for _ in range(rounds):
            waiter = loop.create_future()
            client_tls.write(frame)
            await waiter
            del received[: len(frame)]
        return time.perf_counter() - started
    finally:
        loop.remove_reader(server.fileno())
        loop.remove_reader(client.fileno())
        client.close()
        server.close()


async def raw_ws(rounds: int, tls: bool = False) -> float:
    async def echo(connection: ServerConnection) -> None:
        async for message in connection:
            await connection.send(message)

    port = free_port()
    server_ssl = Credentials(BOB).ssl_context(server=True) if tls else None
    client_ssl = Credentials(ALICE).ssl_context(server=False) if tls else None
    uri = f"{'wss' if tls else 'ws'}://127.0.0.1:{port}"
    tls_options: dict[str, Any] = {"ssl": client_ssl, "server_hostname": "bench"} if tls else {}
    async with (
        ws_serve(echo, "127.0.0.1", port, compression=None, ssl=server_ssl),
        ws_connect(uri, compression=None, **tls_options) as client,
    ):
        started = time.perf_counter()
        for _ in range(rounds):
            await client.send(PAYLOAD)
            await client.recv()
        return time.perf_counter() - started


class _QuicEcho(QuicConnectionProtocol):
    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, StreamDataReceived):
            self._quic.send_stream_data(event.stream_id, event.data)
            self.transmit()


async def raw_quic(rounds: int) -> float:
    leaf, *chain = load_pem_x509_certificates(Credentials(BOB).chain_pem())
    server_config = QuicConfiguration(
        is_client=False, alpn_protocols=["bench"], certificate=leaf, certificate_chain=chain
    )
    server_config.private_key = BOB.private_key
    client_config = QuicConfiguration(is_client=True, alpn_protocols=["bench"], verify_mode=0)
    port = free_port()
    server = await quic_serve("127.0.0.1", port, configuration=server_config, create_protocol=_QuicEcho)
    try:
        async with quic_connect("127.0.0.1", port, configuration=client_config) as client:
            reader, writer = await client.create_stream()
            frame = _LEN.pack(len(PAYLOAD)) + PAYLOAD
            started = time.perf_counter()
            for _ in range(rounds):
                writer.write(frame)
                await reader.readexactly(len(frame))
            return time.perf_counter() - started
    finally:
        server.close()


async def raw_nats(url: str, rounds: int, signed: bool = False) -> float:
    """Raw nats-py request/reply; `signed`: each message also signed by its sender and verified by its
    receiver as nats:// does (the same functions, the same size of signed data): the floor of nats://."""
    server_side: Any = await nats.connect(url)
    client: Any = await nats.connect(url)
    sign_a, sign_b = frame_signer(ALICE), frame_signer(BOB)
    verify_a, verify_b = frame_verifier(ALICE.public_bytes), frame_verifier(BOB.public_bytes)
    signed_data = PAYLOAD * 2  # about what nats:// signs per frame (subject, device, counter, envelope)

    async def reply(msg: Any) -> None:
        if signed:
            assert verify_a(msg.data, signed_data)
            await msg.respond(sign_b(signed_data))
        else:
            await msg.respond(msg.data)

    await server_side.subscribe("bench.echo", cb=reply)
    await confirm_subscriptions(server_side, 10)  # flush() alone may return before the SUB is sent
    started = time.perf_counter()
    for _ in range(rounds):
        if signed:
            answer = await client.request("bench.echo", sign_a(signed_data), timeout=10)
            assert verify_b(answer.data, signed_data)
        else:
            await client.request("bench.echo", PAYLOAD, timeout=10)
    elapsed = time.perf_counter() - started
    await client.close()
    await server_side.close()
    return elapsed


def signatures(rounds: int) -> float:
    """Seconds for `rounds` round trips' worth of nats:// signatures: both frames signed and verified."""
    frame = PAYLOAD * 2  # about a signed frame's size
    sign, verify = frame_signer(ALICE), frame_verifier(ALICE.public_bytes)
    signature = sign(frame)
    started = time.perf_counter()
    for _ in range(rounds):
        sign(frame)
        verify(signature, frame)
    return 2 * (time.perf_counter() - started)


# ---------------------------------------------------------------- the runtime over a carrier


@asynccontextmanager
async def devices(kind: str, server: NatsServer) -> AsyncIterator[tuple[Transport, Transport]]:
    a: Transport
    b: Transport
    if kind == "nats":
        a = NatsTransport(ALICE, {"bob": PeerDevice("bob", BOB.public_bytes, server.url)}, server=server.url)
        b = NatsTransport(
            BOB, {"alice": PeerDevice("alice", ALICE.public_bytes, server.url)}, server=server.url
        )
    else:
        at, bt = f"{kind}://127.0.0.1:{free_port()}", f"{kind}://127.0.0.1:{free_port()}"
        a = TcpTransport(ALICE, {"bob": PeerDevice("bob", BOB.public_bytes, bt)}, listen=at)
        b = TcpTransport(BOB, {"alice": PeerDevice("alice", ALICE.public_bytes, at)}, listen=bt)
    async with a, b:
        yield a, b


async def open_both(a: Transport, b: Transport, protocol_hash: str, session: str) -> None:
    binding = SessionBinding(protocol_hash, session, ROLES)
    await asyncio.gather(a.open_session(binding, timeout=30), b.open_session(binding, timeout=30))


async def runtime(kind: str, server: NatsServer, rounds: int) -> tuple[float, float]:
    """(seconds for `rounds` round trips, seconds for SESSIONS sessions) through the runtime."""
    pingpong = choreography(PING_PONG, params={"ROUNDS": rounds})
    ask = choreography(ASK)
    async with (
        devices(kind, server) as (a, b),
        Node(a, a.local_address) as na,
        Node(b, b.local_address) as nb,
    ):
        addresses = {"A": a.local_address, "B": b.local_address}
        session = pingpong.session(session_id="pingpong", devices=addresses, peer_timeout=60)
        await open_both(a, b, "pp", "pingpong")

        started = time.perf_counter()
        await asyncio.gather(
            run_role(session.endpoint("A", na), pinger(rounds)), run_role(session.endpoint("B", nb))
        )
        round_trips = time.perf_counter() - started

        started = time.perf_counter()
        for i in range(SESSIONS):
            s = ask.session(session_id=f"ask-{i}", devices=addresses, peer_timeout=60)
            await open_both(a, b, "ask", s.id)
            await asyncio.gather(run_role(s.endpoint("A", na)), run_role(s.endpoint("B", nb)))
        sessions = time.perf_counter() - started
    return round_trips, sessions


def pinger(rounds: int) -> Callable[[Endpoint], Awaitable[None]]:
    async def ping(ep: Endpoint) -> None:
        for i in range(rounds):
            await ep.send("B", ep.message("Ping", n=i))
            await ep.recv("B")

    return ping


async def runtime_alone(rounds: int) -> float:
    """Seconds for `rounds` round trips of the same ping-pong through the runtime over the in-memory
    transport (no bytes, no session layer: envelopes go from node to node): what no carrier can save."""
    pingpong = choreography(PING_PONG, params={"ROUNDS": rounds})
    memory = InMemoryTransport()
    async with Node(memory, "a") as na, Node(memory, "b") as nb:
        session = pingpong.session(session_id="alone", devices={"A": "a", "B": "b"}, peer_timeout=60)
        started = time.perf_counter()
        await asyncio.gather(
            run_role(session.endpoint("A", na), pinger(rounds)), run_role(session.endpoint("B", nb))
        )
        return time.perf_counter() - started


async def main(rounds: int, carriers: list[str]) -> None:
    with NatsServer() as server:
        baselines: dict[str, Callable[[], Awaitable[float]]] = {
            "tcp": lambda: raw_tcp(rounds),
            "ws": lambda: raw_ws(rounds),
            "quic": lambda: raw_quic(rounds),
            "nats": lambda: raw_nats(server.url, rounds),
        }
        names = {
            "tcp": "raw asyncio TCP framing",
            "ws": "raw websockets echo",
            "quic": "raw aioquic stream echo",
            "nats": "raw nats-py request/reply",
        }
        targets = {"tcp": 1.3, "ws": 1.5, "quic": 1.5, "nats": 1.5}
        # The same exchange with the same encryption as the carrier (quic's raw stream is already
        # encrypted; nats signs frames instead, which the raw client cannot do).
        encrypted: dict[str, Callable[[], Awaitable[float]]] = {
            "tcp": lambda: raw_tcp(rounds, tls=True),
            "ws": lambda: raw_ws(rounds, tls=True),
            "nats": lambda: raw_nats(server.url, rounds, signed=True),
        }
        print(
            f"{rounds} round trips and {SESSIONS} 2-message sessions per carrier, two devices, one process;"
            f" best of {REPEATS} in turns"
        )
        for kind, baseline in baselines.items():
            if carriers and kind not in carriers:
                continue
            raws, runs, tlss, signing, leans, alones = [], [], [], [], [], []
            for _ in range(REPEATS):  # in turns, so the runtime and its baselines see the same load
                raws.append(await baseline())
                runs.append(await runtime(kind, server, rounds))
                if kind in encrypted:
                    tlss.append(await encrypted[kind]())
                if kind == "nats":
                    signing.append(signatures(rounds))
                if kind == "tcp":
                    leans.append(await raw_tls_socket(rounds))
                    alones.append(await runtime_alone(rounds))
            raw, trips, sessions = min(raws), min(r[0] for r in runs), min(r[1] for r in runs)
            print(f"{kind}://")
            print(f"  runtime round trips : {rounds / trips:9.0f}/s   {names[kind]}: {rounds / raw:9.0f}/s")
            print(f"  ratio round trip    : {trips / raw:.2f}x (target <= {targets[kind]}x)")
            if tlss and kind != "nats":
                tls = min(tlss)
                print(f"  raw with TLS 1.3    : {rounds / tls:9.0f}/s   runtime/raw TLS: {trips / tls:.2f}x")
                floor = f"raw TLS / raw = {tls / raw:.2f}x"
                if leans:  # tcp:// does not use asyncio's TLS layer: its floor is the lean ping-pong
                    lean = min(leans)
                    print(f"  asyncio's TLS alone : {floor} (asyncio.sslproto, not tcp://'s TLS)")
                    ratio = f"runtime/lean TLS: {trips / lean:.2f}x"
                    print(f"  raw TLS, lean       : {rounds / lean:9.0f}/s   {ratio}")
                    floor = f"lean TLS / raw = {lean / raw:.2f}x"
                print(f"  TLS alone           : {floor} (the floor of the ratio)")
            if alones and leans:  # the runtime's own work per round trip is not the carrier's to save
                alone, lean = min(alones), min(leans)
                alone_rate = f"{rounds / alone:9.0f}/s   (in-memory transport) = {alone / raw:.2f}x raw"
                print(f"  runtime, no network : {alone_rate}")
                print(
                    f"  runtime + lean TLS  : {(alone + lean) / raw:.2f}x raw (the floor if the session layer"
                    f" and carrier cost nothing; measured: {trips / raw:.2f}x)"
                )
            if signing:
                signed, floor = min(signing), min(tlss)
                library = "libsodium (PyNaCl)" if SODIUM is not None else "OpenSSL (cryptography)"
                print(
                    f"  signatures alone    : {signed / rounds * 1e6:.0f} us per round trip (2 Ed25519 signs"
                    f" + 2 verifies, {library}) = {signed / raw:.2f}x a raw round trip"
                )
                print(f"  raw, signed frames  : {rounds / floor:9.0f}/s   runtime/raw: {trips / floor:.2f}x")
                print(f"  signing alone       : raw signed / raw = {floor / raw:.2f}x (the ratio's floor)")
                print(
                    f"  target needs        : runtime/raw signed <= {targets[kind] * raw / floor:.2f}x"
                    f" (measured {trips / floor:.2f}x)"
                )
                print(
                    f"  per round trip      : raw {raw / rounds * 1e6:.0f} us, raw signed"
                    f" {floor / rounds * 1e6:.0f} us, runtime {trips / rounds * 1e6:.0f} us"
                )
            per_session, per_raw = sessions / SESSIONS, raw / rounds
            print(f"  sessions            : {SESSIONS / sessions:9.0f}/s   (set-up included)")
            print(f"  ratio session / raw round trip: {per_session / per_raw:.2f}x")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, sys.argv[2:]))
