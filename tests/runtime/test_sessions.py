"""Many sessions of several protocols over one transport, demultiplexed by session id."""

from __future__ import annotations

import asyncio

from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.runner import run_role
from aura_choreo.runtime.session import Session
from aura_choreo.runtime.trace import Trace
from aura_choreo.transports.inmemory import InMemoryTransport

ECHO = choreography(
    """
    choreography Echo {
        roles: Client, Server;
        Client -> Server: Request(token: String, n: i64);
        loop (count: 2) { Server -> Client: Reply(token: String, n: i64); }
    }
    """
)

COUNTER = choreography(
    """
    choreography Counter {
        roles: Client, Server;
        Client -> Server: Add(n: i64);
        Server -> Client: Sum(total: i64);
    }
    """
)


async def test_a_thousand_concurrent_sessions_share_one_transport_and_each_gets_its_own_messages() -> None:
    transport = InMemoryTransport()
    trace = Trace()
    first = ECHO.session(trace=trace)
    sessions = [first] + [first.another() for _ in range(999)]
    replies: dict[str, list[tuple[str, int]]] = {}

    def client(session: Session, index: int):  # type: ignore[no-untyped-def]
        async def code(ep: Endpoint) -> None:
            await ep.send("Server", ep.message("Request", token=session.id, n=index))
            replies[session.id] = [((m := await ep.recv("Server")).token, m.n) for _ in range(2)]

        return code

    async def server(ep: Endpoint) -> None:
        request = await ep.recv("Client")
        await asyncio.sleep(0)  # interleave the sessions
        for k in range(2):
            await ep.send("Client", ep.message("Reply", token=request.token, n=request.n * 10 + k))

    async with Node(transport, "Client") as client_node, Node(transport, "Server") as server_node:
        async with asyncio.TaskGroup() as group:
            for index, session in enumerate(sessions):
                group.create_task(run_role(session.endpoint("Client", client_node), client(session, index)))
                group.create_task(run_role(session.endpoint("Server", server_node), server))

    assert len({s.id for s in sessions}) == 1000
    for index, session in enumerate(sessions):
        assert replies[session.id] == [(session.id, index * 10), (session.id, index * 10 + 1)]
    assert len(trace.of_kind("recv")) == 3000
    assert all(e.session in replies for e in trace)


async def test_sessions_of_different_protocols_share_nodes() -> None:
    transport = InMemoryTransport()
    echo, counter = ECHO.session(), COUNTER.session()

    async def add(ep: Endpoint) -> int:
        await ep.send("Server", ep.message("Add", n=5))
        return int((await ep.recv("Server")).total)

    async def sum_server(ep: Endpoint) -> None:
        add_message = await ep.recv("Client")
        await ep.send("Client", ep.message("Sum", total=add_message.n + 1))

    async with Node(transport, "Client") as client_node, Node(transport, "Server") as server_node:
        async with asyncio.TaskGroup() as group:
            totals = group.create_task(run_role(counter.endpoint("Client", client_node), add))
            group.create_task(run_role(counter.endpoint("Server", server_node), sum_server))
            group.create_task(run_role(echo.endpoint("Client", client_node), None, seed=1))
            group.create_task(run_role(echo.endpoint("Server", server_node), None, seed=2))
    assert totals.result() == 6
    assert [e.label for e in echo.trace.of_kind("recv")] == ["Request", "Reply", "Reply"]


async def test_devices_map_roles_to_addresses() -> None:
    transport = InMemoryTransport()
    session = COUNTER.session(devices={"Client": "laptop", "Server": "tcp://10.0.0.2:7000"})
    async with Node(transport, "laptop") as laptop, Node(transport, "tcp://10.0.0.2:7000") as remote:
        async with asyncio.TaskGroup() as group:
            group.create_task(run_role(session.endpoint("Client", laptop), None))
            group.create_task(run_role(session.endpoint("Server", remote), None))
    assert [e.label for e in session.trace.of_kind("recv")] == ["Add", "Sum"]
