"""The nodes `run_session` attaches, shared by every `run_session` running on the same transport.

A transport refuses a second attachment of one address, and a device has one node however many
sessions it takes part in (SPEC §5.6: connections are shared by all sessions between two devices).
So concurrent `run_session` calls on one transport share the node of each address: the first call to
need it attaches it, later ones join it, and the last one to leave detaches it. A call that arrives
while the last user is detaching waits for the detach to finish and attaches afresh.

The pool is a weak map from transport to its nodes: it holds nothing once a transport is dropped, and
nothing at all between runs (an entry lives exactly as long as some `run_session` uses it).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aura_choreo.runtime.node import Node
from aura_choreo.transports.base import Address, Transport


class _Shared:
    __slots__ = ("closed", "node", "ready", "users")

    def __init__(self, node: Node) -> None:
        self.node = node
        self.users = 0
        self.ready = asyncio.get_running_loop().create_future()
        """Resolved once the node is attached (with the error when attaching failed)."""
        self.closed: asyncio.Future[None] | None = None
        """Set while the last user detaches the node; resolved when it is detached."""


_POOL: weakref.WeakKeyDictionary[Transport, dict[Address, _Shared]] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def shared_node(
    transport: Transport,
    address: Address,
    *,
    retransmit_after: float,
    max_retransmit_after: float = 5.0,
) -> AsyncIterator[Node]:
    """`async with shared_node(t, a) as node:` the node of `address` on `t`, attached for as long as
    some caller is inside such a block (see the module docstring). The retransmission delays apply
    to a node this call attaches (a node already attached keeps its own)."""
    try:
        nodes = _POOL.setdefault(transport, {})
    except TypeError:  # a transport that cannot be weakly referenced or hashed: one node per call
        async with Node(
            transport,
            address,
            retransmit_after=retransmit_after,
            max_retransmit_after=max_retransmit_after,
        ) as node:
            yield node
        return
    while True:
        shared = nodes.get(address)
        if shared is None or shared.closed is None:
            break
        await asyncio.shield(shared.closed)  # the last user is detaching it: attach afresh after
    owner = shared is None
    if shared is None:
        node = Node(
            transport,
            address,
            retransmit_after=retransmit_after,
            max_retransmit_after=max_retransmit_after,
        )
        shared = nodes[address] = _Shared(node)
    shared.users += 1
    try:
        if owner:
            await shared.node.__aenter__()
            shared.ready.set_result(None)
        else:
            await asyncio.shield(shared.ready)
    except BaseException as exc:
        shared.users -= 1
        if owner:
            if isinstance(exc, Exception):
                shared.ready.set_exception(exc)
                shared.ready.exception()  # marked retrieved: there may be nobody else waiting
            else:
                shared.ready.cancel()
            if nodes.get(address) is shared:
                del nodes[address]  # attaching failed: the next caller tries afresh
        raise
    ok = False
    try:
        yield shared.node
        ok = True
    finally:
        shared.users -= 1
        if shared.users == 0:
            await _detach(nodes, address, shared, ok)


async def _detach(nodes: dict[Address, _Shared], address: Address, shared: _Shared, ok: bool) -> None:
    shared.closed = asyncio.get_running_loop().create_future()
    try:
        if ok:
            await shared.node.__aexit__(None, None, None)
        else:
            error = RuntimeError("a session on this node failed")
            await shared.node.__aexit__(type(error), error, None)
    finally:
        if nodes.get(address) is shared:
            del nodes[address]
        shared.closed.set_result(None)
