"""nats_client: a subscription is confirmed only once the server has it.

A scripted server on loopback records the order of a client's commands, so what a PONG proves is
checked without timing: the subscription must reach it before the PING whose answer confirms it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aura_choreo.transports.nats_client import confirm_subscriptions
from conftest import require_nats

nats = require_nats()

_INFO = b'INFO {"server_id":"scripted","version":"2.10.0","proto":1,"headers":true,"max_payload":1048576}\r\n'


class ScriptedServer:
    """Answers CONNECT and PING; records, for every PING answered, the SUBs received before it."""

    def __init__(self) -> None:
        self.subs = 0
        self.subs_before_pong: list[int] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_INFO)
        try:
            while line := await reader.readline():
                op = line.split(b" ", 1)[0].strip().upper()
                if op == b"SUB":
                    self.subs += 1
                elif op == b"PING":
                    self.subs_before_pong.append(self.subs)
                    writer.write(b"PONG\r\n")
                    await writer.drain()
        except ConnectionError:
            pass
        writer.close()


async def test_a_confirmed_subscription_reached_the_server_before_the_answered_ping() -> None:
    script = ScriptedServer()
    server = await asyncio.start_server(script.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client: Any = await nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False)
    try:
        await client.subscribe("a.subject", cb=_ignore)
        await confirm_subscriptions(client, timeout=5)
        assert script.subs_before_pong[-1] == 1  # the last PONG (what confirmed it) followed the SUB
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


async def _ignore(msg: Any) -> None:
    pass
