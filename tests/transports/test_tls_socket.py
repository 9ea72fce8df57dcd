"""tcp://'s TLS pipe on a non-blocking `ssl.SSLSocket`: what non-blocking TLS asks of its caller (a
refused write retried with the same bytes, decrypted bytes the socket does not announce, the end
reported once) on live loopback connections."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable

import pytest

from aura_choreo.transports import tls_socket
from aura_choreo.transports.net.identity import Identity
from aura_choreo.transports.pipes import Pipe
from aura_choreo.transports.tcp import dial_tls, listen_tls
from aura_choreo.transports.tls import Credentials
from aura_choreo.transports.tls_socket import TlsSocketPipe

ALICE, BOB = Identity.generate("alice"), Identity.generate("bob")


class _Receiver:
    def __init__(self) -> None:
        self.data = bytearray()
        self.ends: list[Exception | None] = []
        self.changed = asyncio.Event()

    def on_data(self, data: bytes) -> None:
        self.data += data
        self.changed.set()

    def on_end(self, error: Exception | None) -> None:
        self.ends.append(error)
        self.changed.set()

    async def until(self, done: Callable[[], bool]) -> None:
        while not done():
            self.changed.clear()
            await self.changed.wait()


@pytest.fixture
async def pair() -> AsyncIterator[tuple[TlsSocketPipe, TlsSocketPipe]]:
    """(dialer's pipe, listener's pipe) of one TLS connection on loopback."""
    accepted: asyncio.Queue[Pipe] = asyncio.Queue()

    async def on_pipe(pipe: Pipe) -> None:
        await accepted.put(pipe)

    listener = await listen_tls(
        "127.0.0.1", 0, Credentials(BOB).ssl_context(server=True), on_pipe, handshake_timeout=5.0
    )
    port = listener._sockets[0].getsockname()[1]
    client = await dial_tls("127.0.0.1", port, Credentials(ALICE).ssl_context(server=False), 5.0)
    server = await accepted.get()
    assert isinstance(server, TlsSocketPipe)
    yield client, server
    client.abort()
    server.abort()
    listener.close()
    await listener.wait_closed()


def _pattern(size: int, seed: int) -> bytes:
    return bytes((seed + i) % 251 for i in range(size))


async def test_bytes_written_while_the_socket_is_full_arrive_whole_and_in_order(
    pair: tuple[TlsSocketPipe, TlsSocketPipe],
) -> None:
    client, server = pair
    receiver = _Receiver()
    server.push_to(receiver)
    sent = bytearray()
    # Written in one turn, so the peer reads nothing meanwhile: the socket fills, OpenSSL refuses a
    # write half-sealed (it must be retried with the same bytes), and the rest waits in the queue.
    for k in range(2000):
        chunk = _pattern(40_000 + k, k)
        client.write(chunk)
        sent += chunk
        if client.must_drain():
            break
    assert client.must_drain() and client.buffered() > 0
    await client.drain()
    client.write(b"last")
    sent += b"last"
    await receiver.until(lambda: len(receiver.data) >= len(sent))
    assert bytes(receiver.data) == bytes(sent)
    assert receiver.ends == []


async def test_decrypted_bytes_the_socket_does_not_announce_are_read_too(
    pair: tuple[TlsSocketPipe, TlsSocketPipe], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, server = pair
    # A read smaller than the record leaves the record's rest inside OpenSSL (`pending()`), where the
    # socket's readiness cannot show it: without taking it at once it would wait for the next record.
    monkeypatch.setattr(tls_socket, "_READ", 100)
    receiver = _Receiver()
    server.push_to(receiver)
    message = _pattern(5000, 7)
    client.write(message)
    await receiver.until(lambda: len(receiver.data) >= len(message))
    assert bytes(receiver.data) == message


async def test_close_sends_what_is_queued_then_the_peer_sees_the_end_once(
    pair: tuple[TlsSocketPipe, TlsSocketPipe],
) -> None:
    client, server = pair
    receiver = _Receiver()
    server.push_to(receiver)
    big = _pattern(3_000_000, 3)
    client.write(big)
    client.write(b"tail")
    client.close()
    assert client.is_closing()
    client.write(b"dropped")  # once closing, writes are dropped
    await receiver.until(lambda: bool(receiver.ends))
    await client.wait_closed()
    assert bytes(receiver.data) == big + b"tail"
    assert receiver.ends == [None]
    await server.wait_closed()  # the peer's end closes ours
    assert receiver.ends == [None]


async def test_abort_ends_both_sides_once(pair: tuple[TlsSocketPipe, TlsSocketPipe]) -> None:
    client, server = pair
    ours, theirs = _Receiver(), _Receiver()
    client.push_to(ours)
    server.push_to(theirs)
    client.abort()
    client.abort()
    await client.wait_closed()
    await theirs.until(lambda: bool(theirs.ends))
    await server.wait_closed()
    assert ours.ends == [None]
    assert len(theirs.ends) == 1


async def test_a_read_pipe_gives_the_data_then_empty_bytes_at_the_end(
    pair: tuple[TlsSocketPipe, TlsSocketPipe],
) -> None:
    client, server = pair
    client.write(b"hello")
    client.close()
    received = b""
    while chunk := await server.read():
        received += chunk
    assert received == b"hello"


async def test_garbage_and_silence_instead_of_tls_are_closed_with_a_logged_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="aura_choreo.tcp")
    accepted: list[Pipe] = []

    async def on_pipe(pipe: Pipe) -> None:
        accepted.append(pipe)

    listener = await listen_tls(
        "127.0.0.1", 0, Credentials(BOB).ssl_context(server=True), on_pipe, handshake_timeout=0.5
    )
    port = listener._sockets[0].getsockname()[1]
    garbage = await asyncio.open_connection("127.0.0.1", port)
    silent = await asyncio.open_connection("127.0.0.1", port)
    garbage[1].write(b"GET / HTTP/1.1\r\n\r\n" * 10)
    await _closed_by_server(garbage[0])
    await _closed_by_server(silent[0])  # at the handshake deadline
    for _, writer in (garbage, silent):
        writer.close()
    listener.close()
    await listener.wait_closed()
    assert accepted == []
    assert "TLS handshake from" in caplog.text and "failed" in caplog.text
    assert "not finished in 0.5s" in caplog.text
    assert "Traceback" not in caplog.text


async def _closed_by_server(reader: asyncio.StreamReader) -> None:
    try:
        while await reader.read(4096):  # a TLS alert may come before the end
            pass
    except ConnectionError:
        pass


async def test_a_port_nobody_listens_on_is_an_os_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OSError):
        await dial_tls("127.0.0.1", port, Credentials(ALICE).ssl_context(server=False), 1.0)


async def test_garbage_after_the_handshake_ends_the_pipe_with_an_error_not_an_exception(
    pair: tuple[TlsSocketPipe, TlsSocketPipe],
) -> None:
    client, server = pair
    receiver = _Receiver()
    server.push_to(receiver)
    client.write(b"before")
    await receiver.until(lambda: bytes(receiver.data) == b"before")
    # Bytes that are no TLS record, straight onto the client's socket (under its TLS layer).
    os.write(client._fd, b"\x17\x03\x03\x00\x10" + b"not a sealed record")
    await receiver.until(lambda: bool(receiver.ends))
    await server.wait_closed()
    assert bytes(receiver.data) == b"before"
    assert len(receiver.ends) == 1 and isinstance(receiver.ends[0], OSError)


async def test_records_written_in_one_turn_are_all_delivered_in_order(
    pair: tuple[TlsSocketPipe, TlsSocketPipe],
) -> None:
    client, server = pair
    receiver = _Receiver()
    server.push_to(receiver)
    # One record each (16 KiB at most); the server reads them only after this turn, many at once.
    messages = [_pattern(1 + (k * 977) % 20_000, k) for k in range(300)]
    for message in messages:
        client.write(message)
    expected = b"".join(messages)
    await receiver.until(lambda: len(receiver.data) >= len(expected))
    assert bytes(receiver.data) == expected
    assert receiver.ends == []


async def test_the_listener_sends_no_session_tickets(pair: tuple[TlsSocketPipe, TlsSocketPipe]) -> None:
    client, server = pair
    # No connection is ever resumed (one lives as long as its transport): tickets would only be
    # work for both sides after every handshake.
    assert Credentials(BOB).ssl_context(server=True).num_tickets == 0
    receiver = _Receiver()
    client.push_to(receiver)
    server.write(b"first")
    await receiver.until(lambda: bytes(receiver.data) == b"first")
