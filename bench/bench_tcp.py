"""Benchmark: round trips through two processes' full runtime over `tcp://` (TLS 1.3, pinned keys,
envelopes, monitor, acknowledgements) against two raw baselines between the same two processes, in
one run: asyncio TLS 1.3 length-prefixed ping-pong (the fair one: same encryption) and plain asyncio
TCP ping-pong (the floor). Also: connection set-up time (TCP + TLS + HELLO + JOIN/ACCEPT) and sessions
per second of a 3-role protocol over one shared connection.

    .venv/bin/python bench/bench_tcp.py [round_trips]

The runtime and the two baselines are measured in turns (`REPEATS` rounds of each, interleaved, best
of each), so that all three see the same load on a shared machine. Target: runtime / TLS ping-pong
<= 1.3 for unguarded messages.

Where the time goes: the two processes take turns, so a round trip's wall time is about the sum of
both processes' CPU per round trip, printed for the runtime and the TLS ping-pong (the child's from
/proc), with the turns of the parent's event loop per round trip (2 for the raw ping-pong: one to
send, one to read the answer). What the runtime adds beyond TLS is its own work per message (endpoint,
monitor, behaviour: see bench_runtime.py) plus the network path (envelopes, acknowledgements, frames).

Instructions per round trip, both devices in one process (cachegrind, 2026-12, not this script; the
node's timers pushed out, +-10k between runs): the runtime over tcp:// 299-310k; the in-memory
runtime 149k; the network transport alone (TLS pipe, connection, framing) 127k, of which the bare TLS
pipe ping-pong (`transports.tls_socket`) 95k; plain asyncio TCP streams 114k; the asyncio streams TLS
ping-pong (this script's TLS baseline) 235k. tcp:// on asyncio's own TLS (before `tls_socket`) was
455k: its record layer is Python. bench_transports.py prints the lean TLS floor in one process.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.runner import run_role
from aura_choreo.transports.carrier import TcpTransport
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity, load_identity, write_key_file
from aura_choreo.transports.peering import PeerDevice
from aura_choreo.transports.tls import tls_context as _context

PING_PONG = """
choreography PingPong {
    roles: A, B;
    loop (count: ROUNDS) { A -> B: Ping(n: i64); B -> A: Pong(n: i64); }
}
"""
TRIO = """
choreography Trio {
    roles: A, B, C;
    A -> B: Ask(n: i64);
    B -> C: Forward(n: i64);
    C -> A: Answer(n: i64);
}
"""
SESSIONS = 200
SETUPS = 20
REPEATS = 3
_LEN = struct.Struct(">I")
PARENT, CHILD = "a-parent", "b-child"


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            header = await reader.readexactly(4)
            body = await reader.readexactly(_LEN.unpack(header)[0])
            writer.write(header + body)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


Timing = tuple[float, float, float, float]
"""(wall seconds, CPU seconds of this process, CPU seconds of the child, turns of this event loop)."""


class CountingSelector(selectors.DefaultSelector):
    """Counts the turns of the event loop that polls it (one `select` per turn)."""

    turns = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.turns += 1
        return super().select(timeout)


SELECTOR = CountingSelector()


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far, from /proc (0.0 where there is none;
    a tick is 10 ms, a few hundred times less than a measured run)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def clocks(child_pid: int) -> Timing:
    return time.perf_counter(), time.process_time(), cpu_of(child_pid), SELECTOR.turns


def since(start: Timing, child_pid: int) -> Timing:
    now = clocks(child_pid)
    return now[0] - start[0], now[1] - start[1], now[2] - start[2], now[3] - start[3]


async def ping_pong(port: int, rounds: int, tls: Identity | None, child_pid: int) -> Timing:
    context = _context(tls, server=False) if tls is not None else None
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    payload = b"\x92\xa4Ping\x01" + b"x" * 80  # about the size of an envelope
    started = clocks(child_pid)
    for _ in range(rounds):
        writer.write(_LEN.pack(len(payload)) + payload)  # ping
        await reader.readexactly(4 + len(payload))  # pong
    elapsed = since(started, child_pid)
    writer.close()
    return elapsed


def transport(me: Identity, other: Identity, other_port: int, my_port: int) -> TcpTransport:
    peer = PeerDevice(other.device, other.public_bytes, f"tcp://127.0.0.1:{other_port}")
    return TcpTransport(me, {other.device: peer}, listen=f"tcp://127.0.0.1:{my_port}")


async def child(folder: Path, rounds: int) -> None:
    me, parent = load_identity(folder / f"{CHILD}.key"), load_identity(folder / f"{PARENT}.key")
    ports = [int(p) for p in (folder / "ports").read_text().split()]
    tls_server = await asyncio.start_server(echo, "127.0.0.1", ports[0], ssl=_context(me, server=True))
    tcp_server = await asyncio.start_server(echo, "127.0.0.1", ports[1])
    pingpong = choreography(PING_PONG, params={"ROUNDS": rounds})
    trio = choreography(TRIO)
    async with transport(me, parent, ports[3], ports[2]) as net, Node(net, net.local_address) as node:
        roles = {"A": net.address_of(PARENT), "B": net.local_address}
        pps = [
            pingpong.session(session_id=f"pingpong-{k}", devices=roles, peer_timeout=120)
            for k in range(REPEATS)
        ]
        for k in range(REPEATS):
            net.register_session(SessionBinding("pp", f"pingpong-{k}", {"A": PARENT, "B": CHILD}))
        for i in range(SETUPS):
            net.register_session(SessionBinding("setup", f"setup-{i}", {"A": PARENT, "B": CHILD}))
        trio_roles = {"A": PARENT, "B": CHILD, "C": CHILD}
        trio_sessions = []
        for i in range(SESSIONS):
            sid = f"trio-{i}"
            net.register_session(SessionBinding("trio", sid, trio_roles))
            devices = {"A": net.address_of(PARENT), "B": net.local_address, "C": net.local_address}
            trio_sessions.append(trio.session(session_id=sid, devices=devices, peer_timeout=60))
        (folder / "ready").write_text("ready")
        async with asyncio.TaskGroup() as group:
            for pp in pps:
                group.create_task(run_role(pp.endpoint("B", node)))
            for s in trio_sessions:
                group.create_task(run_role(s.endpoint("B", node)))
                group.create_task(run_role(s.endpoint("C", node)))
        while not (folder / "done").exists():  # the parent may still be measuring the baselines
            await asyncio.sleep(0.05)
    tls_server.close()
    tcp_server.close()


async def parent(folder: Path, rounds: int, child_pid: int) -> None:
    me, other = load_identity(folder / f"{PARENT}.key"), load_identity(folder / f"{CHILD}.key")
    ports = [int(p) for p in (folder / "ports").read_text().split()]
    pingpong = choreography(PING_PONG, params={"ROUNDS": rounds})
    trio = choreography(TRIO)

    setups = []
    for i in range(SETUPS):
        started = time.perf_counter()
        async with transport(me, other, ports[2], free_ports(1)[0]) as net:
            await net.open_session(
                SessionBinding("setup", f"setup-{i}", {"A": PARENT, "B": CHILD}), timeout=30
            )
            setups.append(time.perf_counter() - started)

    async def a(ep: Endpoint) -> None:
        for i in range(rounds):
            await ep.send("B", ep.message("Ping", n=i))
            await ep.recv("B")

    runs: dict[str, list[Timing]] = {"runtime": [], "tls": [], "tcp": []}
    async with transport(me, other, ports[2], ports[3]) as net, Node(net, net.local_address) as node:
        devices = {"A": net.local_address, "B": net.address_of(CHILD)}
        for k in range(REPEATS):  # in turns, so the three see the same load
            binding = SessionBinding("pp", f"pingpong-{k}", {"A": PARENT, "B": CHILD})
            await net.open_session(binding, timeout=30)
            session = pingpong.session(session_id=f"pingpong-{k}", devices=devices, peer_timeout=120)
            started = clocks(child_pid)
            await run_role(session.endpoint("A", node), a)
            runs["runtime"].append(since(started, child_pid))
            runs["tls"].append(await ping_pong(ports[0], rounds, me, child_pid))
            runs["tcp"].append(await ping_pong(ports[1], rounds, None, child_pid))
        carried, ack_frames, resent = (
            node.stats.acks_piggybacked, node.stats.acks_sent, node.stats.retransmissions
        )

        started = time.perf_counter()
        for i in range(SESSIONS):
            sid = f"trio-{i}"
            await net.open_session(
                SessionBinding("trio", sid, {"A": PARENT, "B": CHILD, "C": CHILD}), timeout=30
            )
            trio_devices = {"A": net.local_address, "B": net.address_of(CHILD), "C": net.address_of(CHILD)}
            await run_role(
                trio.session(session_id=sid, devices=trio_devices, peer_timeout=60).endpoint("A", node)
            )
        trio_elapsed = time.perf_counter() - started

    runtime, tls, plain = (min(t[0] for t in runs[k]) for k in ("runtime", "tls", "tcp"))
    cpu_runtime, cpu_tls = (min(t[1] for t in runs[k]) for k in ("runtime", "tls"))
    child_runtime, child_tls = (min(t[2] for t in runs[k]) for k in ("runtime", "tls"))
    turns_runtime, turns_tls = (min(t[3] for t in runs[k]) / rounds for k in ("runtime", "tls"))
    setups.sort()
    print(f"round trips: {rounds} (2 messages each) between two processes, best of {REPEATS} in turns")
    print(f"  runtime over tcp:// (TLS 1.3): {rounds / runtime:10.0f} round trips/s")
    print(f"  raw TLS 1.3 ping-pong        : {rounds / tls:10.0f} round trips/s")
    print(f"  raw TCP ping-pong            : {rounds / plain:10.0f} round trips/s")
    print(f"  ratio runtime / TLS: {runtime / tls:.2f}x (target <= 1.3x)")
    print(f"  ratio runtime / TCP: {runtime / plain:.2f}x")
    print(
        f"  CPU of the parent per round trip: runtime {cpu_runtime / rounds * 1e6:.0f} us, TLS ping-pong"
        f" {cpu_tls / rounds * 1e6:.0f} us, ratio {cpu_runtime / cpu_tls:.2f}x (less load-sensitive)"
    )
    if child_tls > 0:  # the processes take turns, so a round trip's wall time is about their sum
        us = 1e6 / rounds
        print("  CPU per round trip      parent (A, imperative)  child (B, default behaviour)")
        print(f"    runtime over tcp://   {cpu_runtime * us:8.0f} us {child_runtime * us:22.0f} us")
        print(f"    raw TLS ping-pong     {cpu_tls * us:8.0f} us {child_tls * us:22.0f} us")
        extra, child_extra = (cpu_runtime - cpu_tls) * us, (child_runtime - child_tls) * us
        print(f"    the runtime's extra   {extra:8.0f} us {child_extra:22.0f} us")
    print(
        f"  turns of the parent's event loop per round trip: runtime {turns_runtime:.1f},"
        f" TLS ping-pong {turns_tls:.1f}"
    )
    print(
        f"  parent node, ping-pong: {carried} acks carried by data frames, {ack_frames} ack frames,"
        f" {resent} retransmissions"
    )
    median_ms = setups[len(setups) // 2] * 1000
    print(f"connection set-up (TCP + TLS 1.3 + HELLO + JOIN/ACCEPT): median {median_ms:.1f} ms")
    print(f"3-role sessions over one shared connection: {SESSIONS / trio_elapsed:.0f} sessions/s")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        asyncio.run(child(Path(sys.argv[2]), int(sys.argv[3])))
        return
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_key_file(PARENT, folder)
        write_key_file(CHILD, folder)
        (folder / "ports").write_text(" ".join(map(str, free_ports(4))))
        process = subprocess.Popen([sys.executable, __file__, "--child", tmp, str(rounds)])
        try:
            while not (folder / "ready").exists():
                if process.poll() is not None:
                    raise SystemExit("the child process failed to start")
                time.sleep(0.05)
            try:
                with asyncio.Runner(loop_factory=lambda: asyncio.SelectorEventLoop(SELECTOR)) as runner:
                    runner.run(parent(folder, rounds, process.pid))
            finally:
                (folder / "done").write_text("done")
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()



if __name__ == "__main__":
    main()
