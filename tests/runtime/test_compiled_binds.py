"""Sends and receipts bind the named payload fields with compiled functions (`compile_binds`); they
must bind exactly what the loop over `MessageSpec.binds` did: every named field, under its variable,
in `env` (and, on receipt, in `received`), whatever the field's name."""

from __future__ import annotations

import asyncio
from typing import Any

from aura_choreo.protocol import choreography
from aura_choreo.runtime.messages import compile_binds
from aura_choreo.runtime.node import Node
from aura_choreo.transports.inmemory import InMemoryTransport


class _Message:
    x = 1
    class_ = 2


setattr(_Message, "not an identifier", 3)


def test_compiled_binds_bind_every_field_under_its_variable() -> None:
    binds = (("x", "x"), ("cls", "class_"), ("odd", "not an identifier"))
    sent, received = compile_binds(binds)
    env: dict[str, Any] = {"kept": 0}
    sent(_Message, env)
    assert env == {"kept": 0, "x": 1, "cls": 2, "odd": 3}
    env, got = {}, {}
    received(_Message, env, got)
    assert env == got == {"x": 1, "cls": 2, "odd": 3}
    assert compile_binds(()) == (None, None)


def test_sent_and_received_fields_are_known_to_both_roles() -> None:
    session = choreography(
        "choreography P { roles: A, B; A -> B: Ping(n: i64, s: String, bool); B -> A: Pong(m: i64); }"
    ).session()

    async def main() -> None:
        transport = InMemoryTransport()
        async with Node(transport, "A") as na, Node(transport, "B") as nb:
            async with session.endpoint("A", na) as a, session.endpoint("B", nb) as b:
                await a.send("B", a.message("Ping", 4, "x", True))
                ping = await b.recv("A")
                await b.send("A", b.message("Pong", m=ping.n + 1))
                await a.recv("B")
                assert (a.env["n"], a.env["s"], a.env["m"], a.received) == (4, "x", 5, {"m": 5})
                assert (b.env["n"], b.env["s"], b.env["m"]) == (4, "x", 5)
                assert b.received == {"n": 4, "s": "x"}

    asyncio.run(main())
